package files

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkWatchLook is one poll of a directory of 100 files of 70 KB,
// the size of 10,000 routes: each look reads every file, through the
// fingerprinter's one buffer (B/op stays a few hundred bytes a file,
// whatever the files' size).
func BenchmarkWatchLook(b *testing.B) {
	dir := b.TempDir()
	content := strings.Repeat("# seventy bytes of YAML comment to fill a file of the size of 100 routes\n", 1000)
	for i := range 100 {
		write(b, dir, fmt.Sprintf("routes-%03d.yaml", i), content)
	}
	var f fingerprinter
	b.ReportAllocs()
	b.SetBytes(int64(100 * len(content)))
	for b.Loop() {
		if _, err := f.fingerprint(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// watchCalls runs watch on dir until the test ends and counts its calls
// of changed; each call also records the content of file then.
type watchCalls struct {
	mu       sync.Mutex
	contents []string
}

func startWatch(t *testing.T, dir, file string, interval, settle time.Duration, events <-chan struct{}) *watchCalls {
	t.Helper()
	since, err := Fingerprint(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	w := &watchCalls{}
	go func() {
		defer close(done)
		watch(ctx, dir, interval, settle, since, events, func() {
			data, _ := os.ReadFile(filepath.Join(dir, file))
			w.mu.Lock()
			w.contents = append(w.contents, string(data))
			w.mu.Unlock()
		})
	}()
	return w
}

func (w *watchCalls) seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.contents)
}

// waitFor waits up to 10 s for n calls.
func (w *watchCalls) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(w.seen()) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := w.seen()
	if len(got) < n {
		t.Fatalf("changed called %d times in 10 s, want %d", len(got), n)
	}
	return got
}

// A write is seen through the file system's events, long before a poll
// an hour away.
func TestWatchSeesAWriteWithoutWaitingForThePoll(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "# one\n")
	w := startWatch(t, dir, "a.yaml", time.Hour, Settle, notify(t.Context(), dir))
	write(t, dir, "a.yaml", "# two\n")
	if got := w.waitFor(t, 1); got[0] != "# two\n" {
		t.Fatalf("changed saw %q", got[0])
	}
}

// Without events the poll finds the change.
func TestWatchPollsWithoutEvents(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "# one\n")
	w := startWatch(t, dir, "a.yaml", 20*time.Millisecond, Settle, nil)
	write(t, dir, "a.yaml", "# two\n")
	if got := w.waitFor(t, 1); got[0] != "# two\n" {
		t.Fatalf("changed saw %q", got[0])
	}
}

// A file written in two parts with a pause between them is reported
// once, whole: the first part alone could be a configuration that has a
// route without the ClientCertPolicy that pins it.
func TestWatchWaitsForAFileWrittenInParts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yaml")
	write(t, dir, "a.yaml", "# one\n")
	// The pause is well inside the settle time, which is long here so
	// that a slow machine does not stretch the pause past it.
	w := startWatch(t, dir, "a.yaml", time.Hour, 500*time.Millisecond, notify(t.Context(), dir))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("# first part\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := f.WriteString("# second part\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, 1)
	time.Sleep(1500 * time.Millisecond) // time for a wrong second call
	if got := w.seen(); len(got) != 1 || got[0] != "# first part\n# second part\n" {
		t.Fatalf("changed saw %q, want the whole file once", got)
	}
}

// A directory written to without pause is still reloaded, at the latest
// one interval after the first change.
func TestWatchReportsADirectoryThatKeepsChanging(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "# 0\n")
	w := startWatch(t, dir, "a.yaml", 100*time.Millisecond, 50*time.Millisecond, notify(t.Context(), dir))
	stop := time.Now().Add(10 * time.Second)
	for i := 1; len(w.seen()) == 0 && time.Now().Before(stop); i++ {
		write(t, dir, "a.yaml", fmt.Sprintf("# %d\n", i))
		time.Sleep(2 * time.Millisecond)
	}
	w.waitFor(t, 1)
}
