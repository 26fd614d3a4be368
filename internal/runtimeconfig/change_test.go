package runtimeconfig

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// gcPercent reads the collector's target without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestChangeLowersTheTargetOnLargeHeapsAndPutsItBack(t *testing.T) {
	before := gcPercent()
	defer debug.SetGCPercent(before)

	restore := tightenGC(false, ChangeMinLiveHeap)
	if got := gcPercent(); got != ChangeGCPercent {
		t.Fatalf("during a change: GC target %d, want %d", got, ChangeGCPercent)
	}
	// A second change overlapping the first keeps the lower target until
	// both are over, and restoring twice counts once.
	restore2 := tightenGC(false, ChangeMinLiveHeap)
	restore()
	restore()
	if got := gcPercent(); got != ChangeGCPercent {
		t.Fatalf("one of two changes over: GC target %d, want %d", got, ChangeGCPercent)
	}
	restore2()
	if got := gcPercent(); got != before {
		t.Fatalf("after the changes: GC target %d, want %d", got, before)
	}
}

func TestChangeLeavesSmallHeapsAndTheOperatorsTargetAlone(t *testing.T) {
	before := gcPercent()
	for _, tc := range []struct {
		name        string
		operatorSet bool
		live        uint64
	}{
		{"small live heap", false, ChangeMinLiveHeap - 1},
		{"GOGC set", true, 1 << 30},
	} {
		restore := tightenGC(tc.operatorSet, tc.live)
		if got := gcPercent(); got != before {
			t.Errorf("%s: GC target %d during a change, want %d", tc.name, got, before)
		}
		restore()
	}
}

func TestLiveHeapIsRead(t *testing.T) {
	keep := make([]byte, 8<<20)
	runtime.GC()
	if got := liveHeap(); got < uint64(len(keep)) {
		t.Fatalf("live heap %d bytes with %d held", got, len(keep))
	}
	runtime.KeepAlive(keep)
}
