package runtimeconfig

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// ChangeGCPercent is the garbage collector's target while a configuration
// change is translated and applied (TightenGC): the heap may grow to one
// and a half times what is live instead of twice.
const ChangeGCPercent = 50

// ChangeMinLiveHeap is the live heap from which TightenGC lowers the
// target. Below it a change's garbage is a few MiB and the extra
// collections would cost more than the memory they save.
const ChangeMinLiveHeap = 32 << 20

// change tracks the changes running at once (each provider serialises its
// own, but a process may have more than one), so the target set by the
// operator or at start is the one restored when the last ends.
var change struct {
	mu sync.Mutex
	// running counts the changes that lowered the target.
	running int
	// restoreTo is the target before the first of them.
	restoreTo int
}

// gogcSet is whether the operator chose the target with GOGC; then
// TightenGC leaves it alone.
var gogcSet = func() bool { _, ok := os.LookupEnv("GOGC"); return ok }()

// TightenGC lowers the garbage collector's target to ChangeGCPercent for
// the duration of a configuration change when the live heap is at least
// ChangeMinLiveHeap, and returns the function that puts it back. A change
// of one route in a configuration of thousands allocates several times
// what serving the result keeps; with Go's target of 100 that garbage
// lets the heap reach twice the live size, and the process keeps those
// pages until they are handed back. With GOGC set it does nothing.
func TightenGC() (restore func()) {
	return tightenGC(gogcSet, liveHeap())
}

func tightenGC(operatorSet bool, live uint64) func() {
	if operatorSet || live < ChangeMinLiveHeap {
		return func() {}
	}
	change.mu.Lock()
	if change.running == 0 {
		change.restoreTo = debug.SetGCPercent(ChangeGCPercent)
	}
	change.running++
	change.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			change.mu.Lock()
			defer change.mu.Unlock()
			if change.running--; change.running == 0 {
				debug.SetGCPercent(change.restoreTo)
			}
		})
	}
}

// liveHeap is the heap the last collection marked live, in bytes.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
