package pipeline

import (
	"sync"
	"time"
)

// Debouncer coalesces a burst of triggers into one call of fire: it fires
// once no trigger has come for Quiet, or MaxDelay after the first trigger
// of the burst, whichever is sooner. MaxDelay keeps a source that never
// goes quiet (a busy cluster) from starving the data plane of updates.
//
// fire runs on its own goroutine, never twice at once; triggers that
// arrive while it runs start the next burst.
type Debouncer struct {
	quiet, maxDelay time.Duration
	fire            func()

	mu      sync.Mutex
	timer   *time.Timer
	first   time.Time
	pending bool
	running bool
	stopped bool
}

// NewDebouncer returns a Debouncer that calls fire.
func NewDebouncer(quiet, maxDelay time.Duration, fire func()) *Debouncer {
	return &Debouncer{quiet: quiet, maxDelay: maxDelay, fire: fire}
}

// Trigger records a change.
func (d *Debouncer) Trigger() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	now := time.Now()
	if !d.pending {
		d.pending, d.first = true, now
	}
	wait := min(d.quiet, d.maxDelay-now.Sub(d.first))
	if d.timer == nil {
		d.timer = time.AfterFunc(wait, d.expire)
	} else {
		d.timer.Reset(wait)
	}
}

// expire fires, unless a call is already running; that call fires again
// when it ends.
func (d *Debouncer) expire() {
	d.mu.Lock()
	if d.stopped || !d.pending || d.running {
		d.mu.Unlock()
		return
	}
	d.pending, d.running = false, true
	d.mu.Unlock()

	d.fire()

	d.mu.Lock()
	d.running = false
	again := d.pending && !d.stopped
	if again {
		d.timer.Reset(0)
	}
	d.mu.Unlock()
}

// Stop drops pending triggers. A call of fire already running finishes.
func (d *Debouncer) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.timer != nil {
		d.timer.Stop()
	}
}
