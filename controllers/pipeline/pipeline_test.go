package pipeline

import (
	"errors"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/controllers/translator"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// The first trigger fires without waiting for the changes to stop: here
// they never do. (A quiet-period debouncer would wait for its maximum
// delay, a second before; 500ms leaves room for a loaded machine.)
func TestDebouncerFiresAtOnceOnTheFirstTrigger(t *testing.T) {
	var fired atomic.Bool
	d := NewDebouncer(func() { fired.Store(true) })
	defer d.Stop()
	deadline := time.Now().Add(500 * time.Millisecond)
	for !fired.Load() {
		if time.Now().After(deadline) {
			t.Fatal("no call within 500ms of changes arriving every 5ms")
		}
		d.Trigger()
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDebouncerCoalescesTriggersDuringARunIntoOneMore(t *testing.T) {
	var fired atomic.Int32
	release := make(chan struct{})
	d := NewDebouncer(func() {
		if fired.Add(1) == 1 {
			<-release // the first run lasts while the burst arrives
		}
	})
	defer d.Stop()
	d.Trigger()
	for fired.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for range 10 {
		d.Trigger()
	}
	close(release)
	time.Sleep(100 * time.Millisecond)
	if n := fired.Load(); n != 2 {
		t.Errorf("fired %d times for one run and a burst during it, want 2", n)
	}
}

func TestDebouncerNeverFiresTwiceAtOnce(t *testing.T) {
	var running, overlaps, fired atomic.Int32
	d := NewDebouncer(func() {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(2 * time.Millisecond)
		running.Add(-1)
		fired.Add(1)
	})
	defer d.Stop()
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		d.Trigger() // never quiet
		time.Sleep(500 * time.Microsecond)
	}
	time.Sleep(50 * time.Millisecond)
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d calls overlapped another", n)
	}
	if n := fired.Load(); n < 10 {
		t.Errorf("fired %d times in 200ms of constant change with 2ms runs, want back-to-back runs", n)
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
	r := &Runner{Dataplane: app, ReleaseAfter: -1, Publish: func(*translator.Result, error) { published++ }}
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

// forcedCollections is how many garbage collections the process has been
// asked for (runtime.GC, debug.FreeOSMemory).
func forcedCollections() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A burst of applies hands the memory it freed back to the operating
// system once, after the configuration has stayed put for ReleaseAfter.
// (The package's other Runners never release, so the only collections
// forced are this one's.)
func TestRunnerReleasesMemoryOnceAfterABurst(t *testing.T) {
	r := &Runner{Dataplane: &recordingApplier{}, ReleaseAfter: 100 * time.Millisecond}
	before := forcedCollections()
	for range 5 {
		if _, err := r.Run(&resources.Resources{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := forcedCollections() - before; n != 0 {
		t.Fatalf("%d collections forced during the burst, want none before it ends", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for forcedCollections() == before {
		if time.Now().After(deadline) {
			t.Fatal("no memory released within 5s of the last apply")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if n := forcedCollections() - before; n != 1 {
		t.Errorf("%d collections forced after one burst, want 1", n)
	}
}

func TestRunnerReleasesNoMemoryWhenToldNever(t *testing.T) {
	r := &Runner{Dataplane: &recordingApplier{}, ReleaseAfter: -1}
	before := forcedCollections()
	if _, err := r.Run(&resources.Resources{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(DefaultReleaseAfter + 300*time.Millisecond)
	if n := forcedCollections() - before; n != 0 {
		t.Errorf("%d collections forced with ReleaseAfter < 0, want none", n)
	}
}
