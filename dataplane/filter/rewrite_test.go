package filter

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// rewriteAndHeaders is the rewrite-path-and-modify-headers modifier of
// httproute-rewrite-path and httproute-rewrite-host.
var rewriteAndHeaders = snapshot.Filter{Type: snapshot.FilterRequestHeaderModifier, RequestHeaderModifier: &snapshot.HeaderModifier{
	Set:    []snapshot.Header{{Name: "X-Header-Set", Value: "set-overwrites-values"}},
	Add:    []snapshot.Header{{Name: "X-Header-Add", Value: "header-val-1"}, {Name: "X-Header-Add-Append", Value: "header-val-2"}},
	Remove: []string{"X-Header-Remove"},
}}

func rewriteFilter(r snapshot.Rewrite) snapshot.Filter {
	return snapshot.Filter{Type: snapshot.FilterURLRewrite, URLRewrite: &r}
}

// TestURLRewritePath replays httproute-rewrite-path plus the spec's
// trailing slash cases.
func TestURLRewritePath(t *testing.T) {
	prefix := func(v string) *snapshot.PathModifier {
		return &snapshot.PathModifier{Type: snapshot.ReplacePrefixMatch, ReplacePrefixMatch: v}
	}
	full := func(v string) *snapshot.PathModifier {
		return &snapshot.PathModifier{Type: snapshot.ReplaceFullPath, ReplaceFullPath: v}
	}
	tests := []struct {
		path    *snapshot.PathModifier
		in      RequestInfo
		want    string // escaped path upstream
		wantRaw string // the query upstream
	}{
		{prefix("/one"), RequestInfo{Path: "/prefix/one/two", MatchedPrefix: "/prefix/one"}, "/one/two", ""},
		{prefix("/"), RequestInfo{Path: "/strip-prefix/three", MatchedPrefix: "/strip-prefix"}, "/three", ""},
		{prefix("/"), RequestInfo{Path: "/strip-prefix", MatchedPrefix: "/strip-prefix"}, "/", ""},
		{full("/one"), RequestInfo{Path: "/full/one/two", MatchedPrefix: "/full/one"}, "/one", ""},
		{prefix("/bar"), RequestInfo{Path: "/foo/", MatchedPrefix: "/foo"}, "/bar/", ""},
		{prefix("/bar"), RequestInfo{Path: "/foo", MatchedPrefix: "/foo/"}, "/bar", ""},
		{prefix(""), RequestInfo{Path: "/foo", MatchedPrefix: "/foo"}, "/", ""},
		{prefix("/bar"), RequestInfo{Path: "/foo/a%2Fb", MatchedPrefix: "/foo", RawQuery: "q=1"}, "/bar/a%2Fb", "q=1"},
		{full("/new%20path"), RequestInfo{Path: "/old", RawQuery: "q=1"}, "/new%20path", "q=1"},
		// Not a prefix match (the translator should have refused the rule):
		// the path is left alone.
		{prefix("/bar"), RequestInfo{Path: "/exact"}, "/exact", ""},
	}
	for _, tt := range tests {
		c := mustCompile(t, rewriteFilter(snapshot.Rewrite{Path: tt.path}))
		out := httptest.NewRequest(http.MethodGet, "http://10.0.0.1:8080"+tt.in.Path, nil)
		out.URL.RawQuery = tt.in.RawQuery
		c.ModifyRequest(out, tt.in)
		if got := out.URL.EscapedPath(); got != tt.want || out.URL.RawQuery != tt.wantRaw {
			t.Errorf("%s with %+v: upstream path %q query %q, want %q %q", tt.in.Path, *tt.path, got, out.URL.RawQuery, tt.want, tt.wantRaw)
		}
		if out.URL.Host != "10.0.0.1:8080" {
			t.Errorf("URL.Host = %q: the rewrite moved the dial address", out.URL.Host)
		}
	}
}

// TestURLRewriteHostname replays httproute-rewrite-host.
func TestURLRewriteHostname(t *testing.T) {
	c := mustCompile(t, rewriteFilter(snapshot.Rewrite{Hostname: ptr("test.example.org")}), rewriteAndHeaders)
	out := httptest.NewRequest(http.MethodGet, "http://10.0.0.1:8080/rewrite-host-and-modify-headers", nil)
	out.Host = "rewrite.example"
	out.Header = canonical(map[string]string{"X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1", "X-Header-Set": "set-val"})
	c.ModifyRequest(out, RequestInfo{Path: "/rewrite-host-and-modify-headers", MatchedPrefix: "/rewrite-host-and-modify-headers"})
	if out.Host != "test.example.org" || out.URL.Host != "10.0.0.1:8080" {
		t.Errorf("Host %q, URL.Host %q; want test.example.org sent to 10.0.0.1:8080", out.Host, out.URL.Host)
	}
	if out.URL.Path != "/rewrite-host-and-modify-headers" {
		t.Errorf("path %q changed without a path rewrite", out.URL.Path)
	}
	want := map[string][]string{
		"X-Header-Set": {"set-overwrites-values"}, "X-Header-Add": {"header-val-1"},
		"X-Header-Add-Append": {"append-val-1", "header-val-2"}, "X-Header-Remove": nil,
	}
	for name, values := range want {
		if got := out.Header.Values(name); !slices.Equal(got, values) {
			t.Errorf("%s = %q, want %q", name, got, values)
		}
	}
}

func TestRequestStepsRunInFilterOrder(t *testing.T) {
	setHost := snapshot.Filter{Type: snapshot.FilterRequestHeaderModifier, RequestHeaderModifier: &snapshot.HeaderModifier{
		Set: []snapshot.Header{{Name: "Host", Value: "from-header-modifier"}},
	}}
	rewrite := rewriteFilter(snapshot.Rewrite{Hostname: ptr("from-rewrite")})
	for _, tt := range []struct {
		filters []snapshot.Filter
		want    string
	}{
		{[]snapshot.Filter{setHost, rewrite}, "from-rewrite"},
		{[]snapshot.Filter{rewrite, setHost}, "from-header-modifier"},
	} {
		out := httptest.NewRequest(http.MethodGet, "http://backend/", nil)
		mustCompile(t, tt.filters...).ModifyRequest(out, RequestInfo{Path: "/"})
		if out.Host != tt.want {
			t.Errorf("Host = %q, want %q (the later filter wins)", out.Host, tt.want)
		}
	}
}
