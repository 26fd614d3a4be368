package accesslog

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// FlushInterval is the longest a line of a buffered Logger waits in its
// buffer before it is written out.
const FlushInterval = 100 * time.Millisecond

// bufferSize is the buffer of a buffered Logger: about 200 lines. A full
// buffer is written at once, whatever the interval.
const bufferSize = 64 << 10

// NewBuffered writes JSON lines to w as New does, but batched: lines
// collect in a buffer that is written when it is full or FlushInterval
// after its first line, whichever comes first. One write per request was a
// system call per request, as many as proxying the request itself takes;
// batched, it is a few per second. Call Flush before the process exits.
func NewBuffered(w io.Writer) *Logger {
	b := &bufferedWriter{dst: w}
	b.buf = bufio.NewWriterSize(w, bufferSize)
	l := New(b)
	l.flush = b.flush
	return l
}

// Flush writes out the lines a buffered Logger holds. It does nothing for
// an unbuffered or nil Logger.
func (l *Logger) Flush() {
	if l != nil && l.flush != nil {
		l.flush()
	}
}

// bufferedWriter is the writer of a buffered Logger. The JSON handler
// hands it one whole line per Write.
type bufferedWriter struct {
	dst   io.Writer
	mu    sync.Mutex
	buf   *bufio.Writer
	armed bool
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if err != nil {
		b.reset()
	}
	if !b.armed && b.buf.Buffered() > 0 {
		b.armed = true
		time.AfterFunc(FlushInterval, b.flush)
	}
	return n, err
}

func (b *bufferedWriter) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	if err := b.buf.Flush(); err != nil {
		b.reset()
	}
}

// reset drops what a failed write left in the buffer: bufio keeps its
// first error forever, and the access log should resume once the output
// takes writes again.
func (b *bufferedWriter) reset() { b.buf.Reset(b.dst) }
