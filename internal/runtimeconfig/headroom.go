package runtimeconfig

import (
	"runtime/debug"
	"time"
)

// MinHeadroom is the least the heap may grow over the live heap before
// the garbage collector runs. Go's target of 100 lets it grow by the live
// heap, which for a proxy with a small configuration (a live heap of a few
// MiB) means a collection every few MiB of requests: several a second
// under load, each with a fixed cost. With a floor of 16 MiB a proxy
// whose live heap is 5 MiB collects a third as often, for about 11 MiB
// more heap; from a live heap of 16 MiB up, the floor is below Go's
// target and changes nothing.
const MinHeadroom = 16 << 20

// retuneEvery is how often the target is worked out again from the live
// heap, which grows with the configuration and with the connections open.
const retuneEvery = 2 * time.Second

// steadyPercent is the GC target for a live heap of live bytes: Go's 100,
// or more where that would leave less than MinHeadroom.
func steadyPercent(live uint64) int {
	const minLive = 1 << 20 // a heap that small is the start of a process
	live = max(live, minLive)
	return max(100, int(MinHeadroom*100/live))
}

// tuneHeadroom sets the GC target from the live heap every retuneEvery,
// for as long as the process runs. Apply starts it unless GOGC is set.
func tuneHeadroom() {
	for range time.Tick(retuneEvery) {
		retune(liveHeap())
	}
}

// retune sets the GC target for a live heap of live bytes, unless a
// configuration change holds it lowered (TightenGC), which puts back the
// target retune last set when it ends. Targets within a tenth of the one
// in force are left, so that a heap that breathes does not move it on
// every look.
func retune(live uint64) {
	change.mu.Lock()
	defer change.mu.Unlock()
	if change.running > 0 {
		return
	}
	want := steadyPercent(live)
	current := debug.SetGCPercent(want)
	if diff := want - current; diff > -current/10 && diff < current/10 {
		debug.SetGCPercent(current)
	}
}
