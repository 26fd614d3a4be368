package accesslog

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer records writes; fail makes them fail.
type lockedBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	fail   bool
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail {
		return 0, errors.New("output gone")
	}
	b.writes++
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines() (int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), "\n"), b.writes
}

func waitLines(t *testing.T, b *lockedBuffer, want int) int {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if n, writes := b.lines(); n == want {
			return writes
		}
	}
	n, _ := b.lines()
	t.Fatalf("%d lines written, want %d", n, want)
	return 0
}

func TestBufferedLinesAreWrittenTogetherWithinTheInterval(t *testing.T) {
	out := &lockedBuffer{}
	l := NewBuffered(out)
	start := time.Now()
	for range 100 {
		l.Log(&Entry{RequestID: NewRequestID(), Method: "GET", Status: 200})
	}
	writes := waitLines(t, out, 100)
	if elapsed := time.Since(start); elapsed > FlushInterval+time.Second {
		t.Errorf("lines took %v to appear, want about %v", elapsed, FlushInterval)
	}
	if writes > 2 {
		t.Errorf("100 lines took %d writes, want them batched", writes)
	}
}

func TestFlushWritesBufferedLinesAtOnce(t *testing.T) {
	out := &lockedBuffer{}
	l := NewBuffered(out)
	l.Log(&Entry{RequestID: "a"})
	l.Flush()
	if n, _ := out.lines(); n != 1 {
		t.Fatalf("after Flush %d lines written, want 1", n)
	}
}

func TestBufferedLogResumesAfterTheOutputFailed(t *testing.T) {
	out := &lockedBuffer{fail: true}
	l := NewBuffered(out)
	l.Log(&Entry{RequestID: "lost"})
	l.Flush()
	out.mu.Lock()
	out.fail = false
	out.mu.Unlock()
	l.Log(&Entry{RequestID: "kept"})
	l.Flush()
	if n, _ := out.lines(); n != 1 || !strings.Contains(out.buf.String(), `"request_id":"kept"`) {
		t.Fatalf("after the output recovered: %q, want the one line logged since", out.buf.String())
	}
}
