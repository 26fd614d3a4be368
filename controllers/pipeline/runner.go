package pipeline

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/controllers/translator"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/runtimeconfig"
)

// Applier takes a snapshot; *dataplane.Dataplane is one.
type Applier interface {
	Apply(*snapshot.Snapshot) error
}

// Runner translates resources and applies the snapshot. A panic or an
// error leaves the previous snapshot serving.
type Runner struct {
	// Dataplane receives each snapshot.
	Dataplane Applier
	// Options are the translation options; Now, LastGoodCertificates and
	// Previous are set on each run.
	Options translator.Options
	// Publish, when set, receives every translation result with the error
	// of applying its snapshot, so statuses can be written or printed.
	Publish func(*translator.Result, error)
	// Log receives what went wrong.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ReleaseAfter is how long the configuration has to stay as applied
	// before the memory its translations freed is handed back to the
	// operating system; 0 means DefaultReleaseAfter, a negative value never.
	ReleaseAfter time.Duration

	mu   sync.Mutex
	last *translator.Result
	// lastGood are the serving certificates of the last applied snapshot,
	// handed to the next translation (translator/lastgood.go). They follow
	// the applied snapshot rather than every translation, so they always
	// describe what the data plane serves; they live as long as the
	// process.
	lastGood translator.LastGoodCertificates
	// reuse is what the last applied translation leaves the next one
	// (translator/reuse.go): the rules it may take are then always those
	// the data plane serves.
	reuse *translator.Reuse
	// release hands freed memory back once applies stop (scheduleRelease).
	release *time.Timer
}

// DefaultReleaseAfter is Runner.ReleaseAfter's default: a burst of
// changes (a deploy, a CI pipeline editing many routes) is over by then.
const DefaultReleaseAfter = time.Second

// Run translates res and applies the result. It returns the result (nil
// after a panic) and the error of applying it. Runs are serialised.
func (r *Runner) Run(res *resources.Resources) (result *translator.Result, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			// One bad update must not take the gateway down: report it and
			// keep serving the last good snapshot.
			result, err = nil, fmt.Errorf("translation panicked: %v", p)
			r.log().Error("translation panicked; the previous configuration keeps serving",
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	opts := r.Options
	opts.Now = r.now()
	opts.LastGoodCertificates, opts.Previous = r.lastGood, r.reuse
	// A panic below still restores the GC target.
	defer runtimeconfig.TightenGC()()
	result = translator.Translate(res, opts)
	err = r.Dataplane.Apply(&result.Snapshot)
	if err != nil {
		r.log().Error("snapshot rejected; the previous configuration keeps serving", "error", err)
	} else {
		r.last, r.lastGood, r.reuse = result, result.LastGoodCertificates, result.Reuse
		r.scheduleRelease()
	}
	if r.Publish != nil {
		r.Publish(result, err)
	}
	return result, err
}

// scheduleRelease hands the memory freed by translations back to the
// operating system once the configuration has stayed as applied for
// ReleaseAfter. A translation of many routes leaves a heap several times
// the size of what serving keeps; with the garbage collector's target at
// twice the live heap, and its scavenger returning only what lies above
// that target, a process would otherwise hold on to the peak of its last
// burst of changes for good. Each apply pushes the release back, so a
// burst costs one collection, after it.
func (r *Runner) scheduleRelease() {
	after := r.ReleaseAfter
	switch {
	case after < 0:
		return
	case after == 0:
		after = DefaultReleaseAfter
	}
	if r.release == nil {
		r.release = time.AfterFunc(after, debug.FreeOSMemory)
		return
	}
	r.release.Reset(after)
}

// Last returns the result of the last run whose snapshot was applied.
func (r *Runner) Last() *translator.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
