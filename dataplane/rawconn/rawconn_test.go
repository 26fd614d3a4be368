package rawconn_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/rawconn"
)

// pair returns both ends of a loopback TCP connection, the dialled one
// wrapped.
func pair(t *testing.T) (wrapped net.Conn, peer *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-accepted
	if a == nil {
		t.Fatal("accept failed")
	}
	wrapped = rawconn.Wrap(c)
	if _, ok := wrapped.(*rawconn.Conn); !ok {
		t.Fatalf("Wrap returned %T for a TCP connection", wrapped)
	}
	t.Cleanup(func() { _ = wrapped.Close(); _ = a.Close() })
	return wrapped, a.(*net.TCPConn)
}

// More than the socket buffers hold, both ways at once: every write
// waits for room (EAGAIN) and every byte arrives in order.
func TestMovesMoreThanTheSocketBuffersBothWays(t *testing.T) {
	c, peer := pair(t)
	out := make([]byte, 16<<20)
	if _, err := rand.Read(out); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var echoed []byte
	var echoErr error
	wg.Add(2)
	go func() { // the peer echoes what it reads
		defer wg.Done()
		_, echoErr = io.Copy(peer, peer)
		_ = peer.CloseWrite()
	}()
	go func() {
		defer wg.Done()
		echoed, _ = io.ReadAll(c)
	}()
	if n, err := c.Write(out); err != nil || n != len(out) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(out))
	}
	if err := c.(*rawconn.Conn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if echoErr != nil {
		t.Fatal(echoErr)
	}
	if !bytes.Equal(echoed, out) {
		t.Fatalf("echoed %d bytes that differ from the %d sent", len(echoed), len(out))
	}
}

func TestReadsEOFOnceThePeerCloses(t *testing.T) {
	c, peer := pair(t)
	if _, err := peer.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	_ = peer.Close()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "last" {
		t.Fatalf("read %q, %v; want \"last\" then EOF", got, err)
	}
	if n, err := c.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read after the end = %d, %v; want 0, io.EOF", n, err)
	}
}

// A deadline ends a pending read as net.Conn's does: a timeout error that
// is os.ErrDeadlineExceeded.
func TestReadDeadlineTimesOut(t *testing.T) {
	c, _ := pair(t)
	if err := c.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.Read(make([]byte, 8))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline returned %v, want a timeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the deadline took %v to end the read", took)
	}
}

// A deadline in the past interrupts a read already waiting: how net/http
// stops its background read of a connection.
func TestDeadlineInThePastInterruptsAPendingRead(t *testing.T) {
	c, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := c.SetReadDeadline(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("interrupted Read returned %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read was not interrupted")
	}
}

func TestCloseEndsAPendingReadWithErrClosed(t *testing.T) {
	c, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	_ = c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read on a closed connection returned %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the read")
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close returned %v, want net.ErrClosed", err)
	}
}

// A peer that reset the connection fails the writes that follow with
// the system call's error, as net.Conn reports it.
func TestWriteToAResetConnectionFails(t *testing.T) {
	c, peer := pair(t)
	_ = peer.SetLinger(0) // close with RST
	_ = peer.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Write(make([]byte, 1024))
		if err != nil {
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("Write to a reset connection returned %v, want ECONNRESET or EPIPE", err)
			}
			var se *os.SyscallError
			if !errors.As(err, &se) || se.Syscall != "write" {
				t.Fatalf("error %v does not name the write system call", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("writes to a reset connection kept succeeding")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Each Write is whole on the wire, however many goroutines write at once,
// as net.Conn promises.
func TestConcurrentWritesStayWhole(t *testing.T) {
	c, peer := pair(t)
	const writers, each, size = 8, 50, 100 << 10
	received := make(chan []byte, 1)
	go func() {
		all, _ := io.ReadAll(peer)
		received <- all
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			record := bytes.Repeat([]byte{byte('a' + w)}, size)
			for range each {
				if _, err := c.Write(record); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	_ = c.(*rawconn.Conn).CloseWrite()
	all := <-received
	if len(all) != writers*each*size {
		t.Fatalf("received %d bytes, want %d", len(all), writers*each*size)
	}
	for i := 0; i < len(all); i += size {
		rec := all[i : i+size]
		if bytes.Count(rec, rec[:1]) != size {
			t.Fatalf("record at %d mixes two writes", i)
		}
	}
}

func TestWrapLeavesOtherConnectionsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := rawconn.Wrap(a); got != a {
		t.Fatalf("Wrap(net.Pipe end) = %T, want it unchanged", got)
	}
}
