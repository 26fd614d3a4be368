package httphead

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// requestSeeds are heads the loop carries and heads it must leave to
// net/http, each a case the differential fuzz test starts from.
var requestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
	"HEAD /x?y=1&z HTTP/1.1\r\nHost: a.example:8080\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
	"OPTIONS /a/../b%2F;c HTTP/1.1\r\nhost: a.example\r\nx-lower: v\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n",
	"GET //double/slash HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\nCache-Control: max-age=1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive\r\nX:   padded \t \r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-Obs: caf\xc3\xa9\r\nX-Empty:\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nX: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\n\n",
	"GET / HTTP/1.1\r\nHost: a\r\nBad Name: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Hop\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n",
	"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
	"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-\xff: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\n: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nx-a-B_c: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nTrailer: X\r\n\r\n",
}

// FuzzRequestReadsAsNetHTTPReads holds Request to net/http: a head it
// takes is one net/http's server takes whole, with the same request.
func FuzzRequestReadsAsNetHTTPReads(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		end := bytes.Index(data, []byte("\r\n\r\n"))
		if end < 0 {
			return
		}
		head := data[:end+4]
		ours := new(http.Request)
		if !Request(head, ours) {
			return
		}
		src := bytes.NewReader(head)
		br := bufio.NewReader(src)
		theirs, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("taken here, refused by net/http (%v): %q", err, head)
		}
		if br.Buffered() != 0 || src.Len() != 0 {
			t.Fatalf("net/http reads a shorter head: %q", head)
		}
		sameRequest(t, head, ours, theirs)
	})
}

func sameRequest(t *testing.T, head []byte, ours, theirs *http.Request) {
	t.Helper()
	for _, c := range []struct {
		what       string
		ours, them any
	}{
		{"method", ours.Method, theirs.Method},
		{"URL", ours.URL, theirs.URL},
		{"proto", [3]any{ours.Proto, ours.ProtoMajor, ours.ProtoMinor}, [3]any{theirs.Proto, theirs.ProtoMajor, theirs.ProtoMinor}},
		{"header", ours.Header, theirs.Header},
		{"host", ours.Host, theirs.Host},
		{"request URI", ours.RequestURI, theirs.RequestURI},
		{"framing", [4]any{ours.ContentLength, ours.Close, ours.TransferEncoding, ours.Trailer}, [4]any{theirs.ContentLength, theirs.Close, theirs.TransferEncoding, theirs.Trailer}},
		{"body", ours.Body == http.NoBody, theirs.Body == http.NoBody},
	} {
		if !reflect.DeepEqual(c.ours, c.them) {
			t.Fatalf("%s: %#v here, %#v in net/http, for %q", c.what, c.ours, c.them, head)
		}
	}
}

func TestRequestDeclinesWhatTheLoopLeavesToNetHTTP(t *testing.T) {
	for _, s := range requestSeeds[8:] {
		if s == "GET / HTTP/1.1\r\nHost: a\r\nx-a-B_c: y\r\n\r\n" || s == "GET / HTTP/1.1\r\nHost: a\r\nTrailer: X\r\n\r\n" {
			continue // taken: seeds of the fuzz test, not of this one
		}
		if Request([]byte(s), new(http.Request)) {
			t.Errorf("took %q", s)
		}
	}
	for _, s := range requestSeeds[:8] {
		if !Request([]byte(s), new(http.Request)) {
			t.Errorf("declined %q", s)
		}
	}
}

func TestRequestHeaderIsCanonicalAndTrimmed(t *testing.T) {
	r := new(http.Request)
	if !Request([]byte("GET /p?q HTTP/1.1\r\nhost: a.example\r\nx-lower: v\r\nX-Dup: 1\r\nX-Dup: 2\r\nX:  padded \t\r\nPragma: no-cache\r\n\r\n"), r) {
		t.Fatal("declined")
	}
	want := http.Header{"X-Lower": {"v"}, "X-Dup": {"1", "2"}, "X": {"padded"}, "Pragma": {"no-cache"}, "Cache-Control": {"no-cache"}}
	if !reflect.DeepEqual(r.Header, want) || r.Host != "a.example" || r.URL.Path != "/p" || r.URL.RawQuery != "q" {
		t.Fatalf("got %+v host %q URL %v", r.Header, r.Host, r.URL)
	}
}

// responseSeeds are response heads the direct path takes and heads it
// leaves to net/http.
var responseSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n",
	"HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	"HTTP/1.1 404\r\nContent-Length: 0\r\nconnection: keep-alive\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 007\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nPragma: no-cache\r\n\r\n",
	"HTTP/1.1 599 odd \x01 reason\r\nContent-Length: 1\r\n\r\n",
	"HTTP/1.1 200 OK\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\n\r\n",
	"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n",
	"HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\n",
	"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
	"HTTP/1.1 200 OK\nContent-Length: 5\n\n",
}

// FuzzResponseReadsAsNetHTTPReads holds Response to net/http's
// ReadResponse, for a GET and a HEAD: a head it takes is read the same,
// and its body is as long.
func FuzzResponseReadsAsNetHTTPReads(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		end := bytes.Index(data, []byte("\r\n\r\n"))
		if end < 0 {
			return
		}
		req := &http.Request{Method: http.MethodGet}
		if head {
			req.Method = http.MethodHead
		}
		ours := Response(data[:end+4], req)
		if ours == nil {
			return
		}
		// More than any body: net/http must stop where the head says.
		stream := append(data[:end+4:end+4], strings.Repeat("b", 64)...)
		theirs, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(stream)), req)
		if err != nil {
			t.Fatalf("taken here, refused by net/http (%v): %q", err, data[:end+4])
		}
		sameResponse(t, data[:end+4], ours, theirs)
	})
}

func sameResponse(t *testing.T, head []byte, ours, theirs *http.Response) {
	t.Helper()
	body := -1 // no body
	if theirs.Body != http.NoBody {
		b, _ := io.ReadAll(theirs.Body)
		body = len(b)
	}
	oursBody := -1
	if ours.Body == nil {
		oursBody = int(ours.ContentLength)
	}
	for _, c := range []struct {
		what       string
		ours, them any
	}{
		{"status", [2]any{ours.Status, ours.StatusCode}, [2]any{theirs.Status, theirs.StatusCode}},
		{"proto", [3]any{ours.Proto, ours.ProtoMajor, ours.ProtoMinor}, [3]any{theirs.Proto, theirs.ProtoMajor, theirs.ProtoMinor}},
		{"header", ours.Header, theirs.Header},
		{"framing", [5]any{ours.ContentLength, ours.Close, ours.TransferEncoding, ours.Trailer, ours.Uncompressed}, [5]any{theirs.ContentLength, theirs.Close, theirs.TransferEncoding, theirs.Trailer, theirs.Uncompressed}},
		{"body length", oursBody, body},
		{"request", ours.Request, theirs.Request},
	} {
		if !reflect.DeepEqual(c.ours, c.them) {
			t.Fatalf("%s: %#v here, %#v in net/http, for %q", c.what, c.ours, c.them, head)
		}
	}
}

func TestResponseDeclinesWhatItCannotFrame(t *testing.T) {
	get := &http.Request{Method: http.MethodGet}
	for _, s := range responseSeeds[6:] {
		if Response([]byte(s), get) != nil {
			t.Errorf("took %q", s)
		}
	}
	for _, s := range responseSeeds[:6] {
		if Response([]byte(s), get) == nil {
			t.Errorf("declined %q", s)
		}
	}
}
