// Package rawconn reads and writes TCP connections with raw system calls
// on the Go runtime's non-blocking sockets.
//
// A read or write of a Go net.Conn tells the scheduler it enters a system
// call. When the call outlasts one tick of the runtime's monitor (20 µs),
// the monitor hands the goroutine's processor to another thread, and the
// thread coming back from the call has to take it back. On loopback and
// fast networks a write runs the whole TCP transmit path, and often the
// receiver's too, inside the call: a proxy's writes routinely outlast the
// tick, and with GOMAXPROCS=1 (one CPU per proxy) each hand-off wakes a
// thread that finds nothing to do, on the one CPU, and puts it back to
// sleep — a futex round trip and two context switches per request.
//
// The sockets under a net.Conn never block: a call returns EAGAIN instead,
// and then Conn waits on the runtime's poller as net.Conn does
// (syscall.RawConn). So a raw call, which the scheduler does not see,
// cannot hold a thread for longer than the kernel's work on the data at
// hand, which writeChunk bounds. Everything else — deadlines, closing,
// the poller — is the net.TCPConn's.
package rawconn

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// writeChunk bounds one raw write, and with it how long the thread is
// kept from the scheduler (a stop-the-world pause waits for it too).
const writeChunk = 64 << 10

// Conn is a *net.TCPConn whose Read and Write make raw system calls.
type Conn struct {
	*net.TCPConn
	raw syscall.RawConn

	// The state of the Read and Write in progress, and the callbacks that
	// use it, made once so that no call allocates a closure. Each
	// mutex serialises its direction, as net.Conn allows concurrent calls.
	rmu     sync.Mutex
	rbuf    []byte
	rn      int
	rerr    error
	readFn  func(fd uintptr) bool
	wmu     sync.Mutex
	wbuf    []byte
	wn      int
	werr    error
	writeFn func(fd uintptr) bool
}

// Wrap returns c as a Conn when it is a TCP connection, else c itself.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	rc := &Conn{TCPConn: tc, raw: raw}
	rc.readFn, rc.writeFn = rc.readRaw, rc.writeRaw
	return rc
}

// Read reads as net.Conn does: io.EOF once the peer has closed its side.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf, c.rn, c.rerr = p, 0, nil
	err := c.raw.Read(c.readFn)
	n, rerr := c.rn, c.rerr
	c.rbuf, c.rerr = nil, nil
	if err != nil {
		return n, c.opError("read", err)
	}
	if rerr != nil {
		return n, c.opError("read", rerr)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (c *Conn) readRaw(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.rbuf[0])), uintptr(len(c.rbuf)))
		switch errno {
		case 0:
			c.rn = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			c.rerr = errno
			return true
		}
	}
}

// Write writes all of p, as net.Conn does, unless an error stops it.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf, c.wn, c.werr = p, 0, nil
	err := c.raw.Write(c.writeFn)
	n, werr := c.wn, c.werr
	c.wbuf, c.werr = nil, nil
	if err != nil {
		return n, c.opError("write", err)
	}
	if werr != nil {
		return n, c.opError("write", werr)
	}
	return n, nil
}

func (c *Conn) writeRaw(fd uintptr) bool {
	for c.wn < len(c.wbuf) {
		chunk := min(len(c.wbuf)-c.wn, writeChunk)
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&c.wbuf[c.wn])), uintptr(chunk))
		switch errno {
		case 0:
			c.wn += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.werr = errno
			return true
		}
	}
	return true
}

// opError wraps err as net.Conn's methods do, so that callers testing for
// a timeout or a closed connection see what they would have seen.
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		// syscall.RawConn's own: the deadline or the closed connection.
		oe.Op = op
		return oe
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, err)}
}
