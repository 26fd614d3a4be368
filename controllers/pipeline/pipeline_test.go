package pipeline

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/controllers/translator"
	"github.com/certgate/certgate/dataplane/snapshot"
)

func TestDebouncerCoalescesABurst(t *testing.T) {
	var fired atomic.Int32
	d := NewDebouncer(50*time.Millisecond, time.Second, func() { fired.Add(1) })
	defer d.Stop()
	for range 10 {
		d.Trigger()
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := fired.Load(); n != 1 {
		t.Errorf("fired %d times for one burst, want 1", n)
	}
}

func TestDebouncerFiresByMaxDelayDuringEndlessChanges(t *testing.T) {
	var fired atomic.Int32
	d := NewDebouncer(50*time.Millisecond, 150*time.Millisecond, func() { fired.Add(1) })
	defer d.Stop()
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		d.Trigger() // never quiet for 50ms
		time.Sleep(10 * time.Millisecond)
	}
	if n := fired.Load(); n < 2 {
		t.Errorf("fired %d times in 500ms of constant change with a 150ms max delay, want at least 2", n)
	}
}

type recordingApplier struct {
	applied []*snapshot.Snapshot
	err     error
}

func (a *recordingApplier) Apply(s *snapshot.Snapshot) error {
	if a.err != nil {
		return a.err
	}
	a.applied = append(a.applied, s)
	return nil
}

func TestRunnerRecoversAPanicAndKeepsTheLastGoodResult(t *testing.T) {
	app := &recordingApplier{}
	var published int
	r := &Runner{Dataplane: app, Publish: func(*translator.Result, error) { published++ }}
	good, err := r.Run(&resources.Resources{})
	if err != nil || good == nil || len(app.applied) != 1 {
		t.Fatalf("first run: %v, %d applied", err, len(app.applied))
	}
	// A nil Resources makes the translator dereference nil: a panic.
	if res, err := r.Run(nil); err == nil || res != nil {
		t.Fatalf("run that panicked returned %v, %v", res, err)
	}
	if r.Last() != good {
		t.Error("the last good result was replaced by a failed run")
	}
	if published != 1 {
		t.Errorf("published %d results, want only the good one", published)
	}
}

func TestRunnerReportsARejectedSnapshot(t *testing.T) {
	app := &recordingApplier{err: errors.New("bind: address in use")}
	var gotErr error
	r := &Runner{Dataplane: app, Publish: func(_ *translator.Result, err error) { gotErr = err }}
	if _, err := r.Run(&resources.Resources{}); err == nil {
		t.Fatal("a rejected snapshot returned no error")
	}
	if gotErr == nil || r.Last() != nil {
		t.Errorf("publish got %v, last = %v", gotErr, r.Last())
	}
}
