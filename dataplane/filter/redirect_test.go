package filter

import (
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// redirectChain compiles one RequestRedirect filter.
func redirectChain(t *testing.T, r snapshot.Redirect) *Chain {
	t.Helper()
	return mustCompile(t, snapshot.Filter{Type: snapshot.FilterRequestRedirect, RequestRedirect: &r})
}

// TestRedirectPortAndScheme replays the conformance test
// httproute-redirect-port-and-scheme: every route there sets hostname
// example.org, and the expectations are per listener.
func TestRedirectPortAndScheme(t *testing.T) {
	var none int32
	tests := []struct {
		listener   RequestInfo
		scheme     string // "" for nil
		port       int32  // none for nil
		wantPrefix string
	}{
		{RequestInfo{Scheme: "http", Port: 80}, "", none, "http://example.org/"},
		{RequestInfo{Scheme: "http", Port: 80}, "", 80, "http://example.org/"},
		{RequestInfo{Scheme: "http", Port: 80}, "", 8080, "http://example.org:8080/"},
		{RequestInfo{Scheme: "http", Port: 80}, "https", none, "https://example.org/"},
		{RequestInfo{Scheme: "http", Port: 80}, "https", 443, "https://example.org/"},
		{RequestInfo{Scheme: "http", Port: 80}, "https", 8443, "https://example.org:8443/"},
		{RequestInfo{Scheme: "http", Port: 8080}, "", none, "http://example.org:8080/"},
		{RequestInfo{Scheme: "http", Port: 8080}, "", 80, "http://example.org/"},
		{RequestInfo{Scheme: "http", Port: 8080}, "https", none, "https://example.org/"},
		{RequestInfo{Scheme: "https", Port: 443}, "", none, "https://example.org/"},
		{RequestInfo{Scheme: "https", Port: 443}, "", 443, "https://example.org/"},
		{RequestInfo{Scheme: "https", Port: 443}, "", 8443, "https://example.org:8443/"},
		{RequestInfo{Scheme: "https", Port: 443}, "http", none, "http://example.org/"},
		{RequestInfo{Scheme: "https", Port: 443}, "http", 80, "http://example.org/"},
		{RequestInfo{Scheme: "https", Port: 443}, "http", 8080, "http://example.org:8080/"},
		// Off the conformance grid: a scheme change to a non-default port,
		// and the listener port on https.
		{RequestInfo{Scheme: "https", Port: 8443}, "", none, "https://example.org:8443/"},
		{RequestInfo{Scheme: "http", Port: 8080}, "http", none, "http://example.org/"},
	}
	for _, tt := range tests {
		r := snapshot.Redirect{Hostname: ptr("example.org")}
		if tt.scheme != "" {
			r.Scheme = ptr(tt.scheme)
		}
		if tt.port != none {
			r.Port = ptr(tt.port)
		}
		in := tt.listener
		in.Host, in.Path = "gateway.test", "/"
		loc, code, ok := redirectChain(t, r).Redirect(in)
		if !ok || code != 302 || loc != tt.wantPrefix {
			t.Errorf("listener %s:%d, scheme %q, port %d: got %q %d %v, want %q 302",
				in.Scheme, in.Port, tt.scheme, tt.port, loc, code, ok, tt.wantPrefix)
		}
	}
}

// TestRedirectPath replays httproute-redirect-path, on a listener at 80.
func TestRedirectPath(t *testing.T) {
	prefix := func(v string) *snapshot.PathModifier {
		return &snapshot.PathModifier{Type: snapshot.ReplacePrefixMatch, ReplacePrefixMatch: v}
	}
	full := func(v string) *snapshot.PathModifier {
		return &snapshot.PathModifier{Type: snapshot.ReplaceFullPath, ReplaceFullPath: v}
	}
	tests := []struct {
		redirect      snapshot.Redirect
		path, matched string
		want          string
		code          int
	}{
		{snapshot.Redirect{Path: prefix("/replacement-prefix")}, "/original-prefix/lemon", "/original-prefix", "http://gw.test/replacement-prefix/lemon", 302},
		{snapshot.Redirect{Path: full("/full-path-replacement")}, "/full/path/original", "/full", "http://gw.test/full-path-replacement", 302},
		{snapshot.Redirect{Hostname: ptr("example.org"), Path: prefix("/replacement-prefix")}, "/path-and-host", "/path-and-host", "http://example.org/replacement-prefix", 302},
		{snapshot.Redirect{Path: prefix("/replacement-prefix"), StatusCode: 301}, "/path-and-status", "/path-and-status", "http://gw.test/replacement-prefix", 301},
		{snapshot.Redirect{Hostname: ptr("example.org"), Path: full("/replacement-full")}, "/full-path-and-host", "/full-path-and-host", "http://example.org/replacement-full", 302},
		{snapshot.Redirect{Path: full("/replacement-full"), StatusCode: 301}, "/full-path-and-status", "/full-path-and-status", "http://gw.test/replacement-full", 301},
		{snapshot.Redirect{Path: prefix("")}, "/strip/", "/strip", "http://gw.test/", 302},
	}
	for _, tt := range tests {
		in := RequestInfo{Scheme: "http", Host: "gw.test", Port: 80, Path: tt.path, MatchedPrefix: tt.matched}
		loc, code, _ := redirectChain(t, tt.redirect).Redirect(in)
		if loc != tt.want || code != tt.code {
			t.Errorf("%s: got %q %d, want %q %d", tt.path, loc, code, tt.want, tt.code)
		}
	}
}

func TestRedirectUsesEveryStatusCode(t *testing.T) {
	for _, code := range []int{0, 301, 302, 303, 307, 308} {
		_, got, _ := redirectChain(t, snapshot.Redirect{StatusCode: code}).Redirect(RequestInfo{Scheme: "http", Host: "a", Path: "/"})
		want := code
		if code == 0 {
			want = 302
		}
		if got != want {
			t.Errorf("StatusCode %d: got %d, want %d", code, got, want)
		}
	}
}

func TestRedirectKeepsWhatTheFilterDoesNotName(t *testing.T) {
	tests := []struct {
		name string
		in   RequestInfo
		want string
	}{
		{"query kept", RequestInfo{Scheme: "https", Host: "a.example", Port: 443, Path: "/p", RawQuery: "x=1&y=%20"}, "https://a.example/p?x=1&y=%20"},
		{"escaped path kept", RequestInfo{Scheme: "http", Host: "a.example", Port: 80, Path: "/a%2Fb"}, "http://a.example/a%2Fb"},
		{"listener port kept", RequestInfo{Scheme: "http", Host: "a.example", Port: 8080, Path: "/"}, "http://a.example:8080/"},
		{"IPv6 host", RequestInfo{Scheme: "http", Host: "::1", Port: 8080, Path: "/"}, "http://[::1]:8080/"},
		{"bracketed IPv6 host", RequestInfo{Scheme: "https", Host: "[::1]", Port: 443, Path: "/"}, "https://[::1]/"},
		{"empty path", RequestInfo{Scheme: "http", Host: "a.example", Port: 80}, "http://a.example/"},
	}
	c := redirectChain(t, snapshot.Redirect{})
	for _, tt := range tests {
		if loc, _, _ := c.Redirect(tt.in); loc != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, loc, tt.want)
		}
	}
}

func TestRedirectSchemeChangeUsesTheNewSchemesPort(t *testing.T) {
	c := redirectChain(t, snapshot.Redirect{Scheme: ptr("https")})
	loc, _, _ := c.Redirect(RequestInfo{Scheme: "http", Host: "a.example", Port: 8080, Path: "/login", RawQuery: "next=%2F"})
	if want := "https://a.example/login?next=%2F"; loc != want {
		t.Errorf("got %q, want %q", loc, want)
	}
}
