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
}

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
	result = translator.Translate(res, opts)
	err = r.Dataplane.Apply(&result.Snapshot)
	if err != nil {
		r.log().Error("snapshot rejected; the previous configuration keeps serving", "error", err)
	} else {
		r.last, r.lastGood, r.reuse = result, result.LastGoodCertificates, result.Reuse
	}
	if r.Publish != nil {
		r.Publish(result, err)
	}
	return result, err
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
