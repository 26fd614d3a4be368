package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// genuine is the answer of rawBackend to every request but the first.
const genuine = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\ngenuine"

// rawBackend is a loopback backend that writes bytes, not responses: the
// first request it reads gets first, after which it closes its side of
// that connection; every later request, on any connection, gets genuine.
type rawBackend struct {
	ln       net.Listener
	first    []byte
	requests atomic.Int64
	mu       sync.Mutex
	open     []net.Conn
}

func startRawBackend(t *testing.T, first string) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBackend{ln: ln, first: []byte(first)}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.open = append(b.open, c)
			b.mu.Unlock()
			wg.Go(func() { b.serve(c) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		b.mu.Lock()
		for _, c := range b.open {
			_ = c.Close()
		}
		b.mu.Unlock()
		wg.Wait()
	})
	return b
}

func (b *rawBackend) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		if b.requests.Add(1) == 1 {
			_, _ = c.Write(b.first)
			_ = c.(*net.TCPConn).CloseWrite()
			continue
		}
		if _, err := io.WriteString(c, genuine); err != nil {
			return
		}
	}
}

func (b *rawBackend) upstream(t *testing.T) *Upstream {
	a := b.ln.Addr().(*net.TCPAddr)
	return compile(t, &snapshot.Backend{Name: "ns/raw:80", Endpoints: []snapshot.Endpoint{{Address: a.IP.String(), Port: int32(a.Port)}}})
}

// getWithin is get bounded by a deadline, so a transport that waits for
// bytes that never come fails the test rather than hanging it.
func getWithin(t *testing.T, u *Upstream) (int, string, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://gateway.invalid/", nil)
	if err != nil {
		t.Fatal(err)
	}
	return roundTrip(u, nil, req)
}

// FuzzBackendBytesNeverAnswerTheNextRequest sends one request to a backend
// that answers with arbitrary bytes, then a second one: whatever the first
// answer was (split responses, bad chunk sizes, conflicting lengths,
// informational responses, garbage), the second gets the backend's real
// answer to it and never bytes left over from the first.
func FuzzBackendBytesNeverAnswerTheNextRequest(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: yes\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 6\r\n\r\nforged",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-Split: a\rHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
		"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nclose-delimited body",
		"HTTP/1.1 204 No Content\r\nContent-Length: 6\r\n\r\nforged",
		"HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"SSH-2.0-OpenSSH\r\n",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, first string) {
		b := startRawBackend(t, first)
		u := b.upstream(t)
		_, _, _ = getWithin(t, u)
		code, body, err := getWithin(t, u)
		if err != nil || code != http.StatusOK || body != "genuine" {
			t.Fatalf("second request after %q: %d %q %v, want 200 \"genuine\"", first, code, body, err)
		}
	})
}

func TestBackendThatClosedAnIdleConnectionGetsTheRequestOnANewOne(t *testing.T) {
	be := startBackend(t, okHandler, func(s *httptest.Server) { s.Config.IdleTimeout = 50 * time.Millisecond })
	u := compile(t, &snapshot.Backend{Name: "ns/svc:80", Endpoints: []snapshot.Endpoint{be.endpoint()}})
	for i := range 3 {
		if code, body, err := get(t, u, "/"); err != nil || code != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q %v", i, code, body, err)
		}
		time.Sleep(150 * time.Millisecond)
	}
	if n := be.conns.Load(); n != 3 {
		t.Fatalf("backend accepted %d connections, want 3 (one per idle timeout)", n)
	}
}

func TestOversizedResponseHeadIsRefused(t *testing.T) {
	b := startRawBackend(t, "HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("a", maxResponseHeaderBytes+1)+"\r\n\r\n")
	if _, _, err := getWithin(t, b.upstream(t)); err == nil {
		t.Fatal("a response head over the limit was accepted")
	}
}

func TestEndedRequestContextEndsTheExchangeWithItsError(t *testing.T) {
	release := make(chan struct{})
	be := startBackend(t, func(w http.ResponseWriter, _ *http.Request) { <-release }, nil)
	t.Cleanup(func() { close(release) })
	u := compile(t, &snapshot.Backend{Name: "ns/svc:80", Endpoints: []snapshot.Endpoint{be.endpoint()}})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://gateway.invalid/", nil)
	start := time.Now()
	_, _, err := roundTrip(u, nil, req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline error (the proxy answers 504 for it)", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("the exchange outlived its context by %v", time.Since(start))
	}
}

func TestHalfReadResponseIsNotReused(t *testing.T) {
	be := startBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 64<<10))
	}, nil)
	u := compile(t, &snapshot.Backend{Name: "ns/svc:80", Endpoints: []snapshot.Endpoint{be.endpoint()}})
	for range 2 {
		res, err := Do(newRequest(t, http.MethodGet, "/", ""), u, &RetryPolicy{})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = res.Body.Read(make([]byte, 10))
		_ = res.Body.Close()
	}
	if n := be.conns.Load(); n != 2 {
		t.Fatalf("backend accepted %d connections, want 2: a half-read response's connection was reused", n)
	}
}

func TestHeaderValueWithLineBreakIsNeverSent(t *testing.T) {
	b := startRawBackend(t, genuine)
	req := newRequest(t, http.MethodGet, "/", "")
	req.Header["X-Split"] = []string{"a\r\nX-Injected: yes"}
	if _, _, err := roundTrip(b.upstream(t), nil, req); err == nil {
		t.Fatal("a header value with a line break was sent")
	}
	if n := b.requests.Load(); n != 0 {
		t.Fatalf("backend read %d requests, want none", n)
	}
}
