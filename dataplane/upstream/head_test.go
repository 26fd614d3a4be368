package upstream

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"testing"
)

// viaRequestWrite is what net/http writes for the request a Head stands
// for, as httputil.ReverseProxy hands it over: without a User-Agent field
// when the client sent none, and no body.
func viaRequestWrite(method, target, query, host, addr string, h http.Header) ([]byte, error) {
	h = h.Clone()
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""}
	}
	r := &http.Request{Method: method, URL: &url.URL{Scheme: "http", Host: addr, RawPath: target, RawQuery: query}, Host: host, Header: h}
	r.URL.Path, _ = url.PathUnescape(target)
	var buf bytes.Buffer
	err := r.Write(&buf)
	return buf.Bytes(), err
}

func viaHead(method, target, query, host, addr string, h http.Header) ([]byte, error) {
	head := &Head{Request: &http.Request{Method: method}, Target: target, Query: query, Host: host, Header: h, addr: addr}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	err := head.write(w)
	_ = w.Flush()
	return buf.Bytes(), err
}

// TestHeadWritesWhatRequestWriteWrites compares a Head's bytes with
// Request.Write's on what only the writer decides: the Host field (empty,
// non-ASCII, an IPv6 zone, one that cannot be sent), User-Agent, the
// fields that frame a body, order, and white space around values.
func TestHeadWritesWhatRequestWriteWrites(t *testing.T) {
	tests := []struct {
		name, method, target, query, host string
		header                            http.Header
	}{
		{"plain", "GET", "/a/b", "x=1", "api.example.com", http.Header{"Accept": {"*/*"}, "User-Agent": {"curl/8"}}},
		{"no host", "GET", "/", "", "", nil},
		{"unicode host", "GET", "/", "", "bücher.example", nil},
		{"zone", "HEAD", "/", "", "[fe80::1%25eth0]:8080", nil},
		{"zone without port", "HEAD", "/", "", "[fe80::1%eth0]", nil},
		{"host that cannot be sent", "GET", "/", "", "a b", nil},
		{"options", "OPTIONS", "/", "", "h", http.Header{"Content-Length": {"0"}}},
		{"framing fields", "GET", "/", "", "h", http.Header{"Transfer-Encoding": {"chunked"}, "Trailer": {"X"}, "Host": {"other"}}},
		{"user agents", "GET", "/", "", "h", http.Header{"User-Agent": {" a ", "b"}}},
		{"empty user agent", "GET", "/", "", "h", http.Header{"User-Agent": {""}, "X": {""}}},
		{"values", "GET", "/", "", "h", http.Header{"X-B": {" \t v \t", "w"}, "X-A": {"1"}, "x-lower": {"2"}, "Cookie": {"a=1", "b=2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compareHead(t, tt.method, tt.target, tt.query, tt.host, "10.0.0.7:8080", tt.header)
		})
	}
}

func compareHead(t *testing.T, method, target, query, host, addr string, h http.Header) {
	t.Helper()
	if h == nil {
		h = http.Header{}
	}
	want, wantErr := viaRequestWrite(method, target, query, host, addr, h)
	got, err := viaHead(method, target, query, host, addr, h)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("error %v, Request.Write's %v", err, wantErr)
	}
	if err == nil && !bytes.Equal(got, want) {
		t.Errorf("Head wrote\n%q\nRequest.Write\n%q", got, want)
	}
}

// TestHeadRefusesControlCharactersInTheTarget: a target that would split
// the request line is an error, as for Request.Write.
func TestHeadRefusesControlCharactersInTheTarget(t *testing.T) {
	for _, target := range []string{"/a\r\nX: y", "/a\x00"} {
		if _, err := viaHead("GET", target, "", "h", "10.0.0.7:80", http.Header{}); err == nil {
			t.Errorf("target %q was written", target)
		}
	}
	if _, err := viaHead("GET", "/", "a=\n", "h", "10.0.0.7:80", http.Header{}); err == nil {
		t.Error("a query with a line break was written")
	}
}

// FuzzHeadWritesWhatRequestWriteWrites compares the two writers on any
// Host, target, query and field that the direct path would send (a
// header checkHeader accepts).
func FuzzHeadWritesWhatRequestWriteWrites(f *testing.F) {
	f.Add("GET", "/a", "q=1", "api.example.com", "X-A", " v ")
	f.Add("HEAD", "/", "", "[::1%lo]:80", "User-Agent", "")
	f.Add("OPTIONS", "/%41", "", "", "Trailer", "x")
	f.Fuzz(func(t *testing.T, method, target, query, host, name, value string) {
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			return
		}
		if len(target) == 0 || target[0] != '/' {
			return // the proxy's targets are paths
		}
		path, err := url.PathUnescape(target)
		if err != nil {
			return // the proxy sends normalised, well-escaped paths
		}
		// The direct path's target is its URL's escaped path.
		target = (&url.URL{Path: path, RawPath: target}).EscapedPath()
		h := http.Header{name: {value}}
		if checkHeader(h) != nil {
			return
		}
		compareHead(t, method, target, query, host, "10.0.0.7:8080", h)
	})
}
