package runtimeconfig

import (
	"runtime/debug"
	"testing"
)

func TestTargetLeavesTheHeapRoomToGrow(t *testing.T) {
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, 1600},        // a process starting: 16 MiB over the 1 MiB floor
		{4 << 20, 400},   // 4 MiB live may grow by 16
		{5 << 20, 320},   // as in the peers benchmark
		{16 << 20, 100},  // Go's own from here up
		{52 << 20, 100},  // 10,000 routes
		{500 << 20, 100}, // never below Go's
	} {
		if got := steadyPercent(tc.live); got != tc.want {
			t.Errorf("live heap %d MiB: target %d, want %d", tc.live>>20, got, tc.want)
		}
	}
}

func TestRetuneFollowsTheLiveHeapButNotDuringAChange(t *testing.T) {
	before := gcPercent()
	defer debug.SetGCPercent(before)
	debug.SetGCPercent(100)

	retune(4 << 20)
	if got := gcPercent(); got != 400 {
		t.Fatalf("live heap 4 MiB: target %d, want 400", got)
	}
	retune(4<<20 + 200<<10) // 381: within a tenth, left
	if got := gcPercent(); got != 400 {
		t.Fatalf("live heap 4.2 MiB: target %d, want 400 kept", got)
	}
	restore := tightenGC(false, ChangeMinLiveHeap)
	retune(16 << 20)
	if got := gcPercent(); got != ChangeGCPercent {
		t.Fatalf("during a change: target %d, want %d", got, ChangeGCPercent)
	}
	restore()
	if got := gcPercent(); got != 400 {
		t.Fatalf("after the change: target %d, want the tuned 400 back", got)
	}
	retune(16 << 20)
	if got := gcPercent(); got != 100 {
		t.Fatalf("live heap 16 MiB: target %d, want 100", got)
	}
}
