package pipeline

import "sync"

// Debouncer turns a stream of triggers into calls of fire without a fixed
// delay: the first trigger after an idle spell calls fire at once (the
// leading edge), and every trigger that arrives while fire runs is
// coalesced into one more call as soon as it returns (the trailing edge).
// A burst of events (a kubectl apply of several objects, an editor that
// writes a file twice) therefore costs at most two runs, and a single
// change is served after one run, not after a quiet period: a run is
// cheap when the translator and the data plane reuse what did not change,
// so waiting for quiet would only add latency. A source that never goes
// quiet gets back-to-back runs, each with everything that came before it.
//
// fire runs on its own goroutine, never twice at once.
type Debouncer struct {
	fire func()

	mu      sync.Mutex
	pending bool
	running bool
	stopped bool
}

// NewDebouncer returns a Debouncer that calls fire.
func NewDebouncer(fire func()) *Debouncer {
	return &Debouncer{fire: fire}
}

// Trigger records a change: fire starts now, or right after the call that
// is running.
func (d *Debouncer) Trigger() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	if d.running {
		d.pending = true
		return
	}
	d.running = true
	go d.loop()
}

// loop calls fire until no trigger came during the last call.
func (d *Debouncer) loop() {
	for {
		d.fire()
		d.mu.Lock()
		if !d.pending || d.stopped {
			d.running = false
			d.mu.Unlock()
			return
		}
		d.pending = false
		d.mu.Unlock()
	}
}

// Stop drops pending triggers. A call of fire already running finishes.
func (d *Debouncer) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
}
