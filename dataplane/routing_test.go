package dataplane_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
)

func TestRoutesByHostAndPathOverRealSockets(t *testing.T) {
	g := newGateway(t)
	api, web, other := newEcho(t, "api"), newEcho(t, "web"), newEcho(t, "other")
	port := freePort(t)
	g.apply(httpListener("http", port,
		route("api", []string{"api.example.com"}, prefixRule("/v1", api.weighted(1))),
		route("web", nil, prefixRule("/", web.weighted(1))),
		route("other", []string{"other.example.com"}, prefixRule("/", other.weighted(1))),
	))
	c := newClient(t, port, nil)
	for _, tt := range []struct{ url, backend string }{
		{"http://api.example.com/v1/users", "api"},
		{"http://api.example.com/v1", "api"},
		{"http://API.example.com./v1/x", "api"},
		{"http://api.example.com/v10", "web"},
		{"http://www.example.com/v1/users", "web"},
		{"http://other.example.com/v1", "other"},
	} {
		res := c.get(tt.url)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %s", tt.url, res.StatusCode, res.body)
		}
		if got := res.echo(t).Backend; got != tt.backend {
			t.Errorf("GET %s reached %s, want %s", tt.url, got, tt.backend)
		}
	}
}

func TestUnmatchedRequestGets404(t *testing.T) {
	g := newGateway(t)
	api := newEcho(t, "api")
	port := freePort(t)
	g.apply(httpListener("http", port, route("api", []string{"api.example.com"}, prefixRule("/v1", api.weighted(1)))))
	c := newClient(t, port, nil)
	if res := c.get("http://api.example.com/v2"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unmatched path: %d, want 404", res.StatusCode)
	}
	if res := c.get("http://unknown.example.com/v1"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unmatched host: %d, want 404", res.StatusCode)
	}
}

// TestGatewayAnswersAreProblemJSON: the gateway's own answers carry the
// RFC 9457 media type, never application/json, so a client (the Gateway
// API conformance suite among them) can tell them from a backend's JSON by
// the headers alone; a HEAD request has no body to tell by.
func TestGatewayAnswersAreProblemJSON(t *testing.T) {
	g := newGateway(t)
	api := newEcho(t, "api")
	port := freePort(t)
	g.apply(httpListener("http", port, route("api", []string{"api.example.com"}, snapshot.Rule{
		Name:     "get-only",
		Matches:  []snapshot.Match{{Method: http.MethodGet}},
		Backends: []snapshot.WeightedBackend{api.weighted(1)},
	})))
	c := newClient(t, port, nil)
	for _, method := range []string{http.MethodHead, http.MethodPost} {
		req, err := http.NewRequest(method, "http://api.example.com/", nil)
		if err != nil {
			t.Fatal(err)
		}
		res := c.do(req)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s with only a GET match: %d, want 404", method, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q, want application/problem+json", method, ct)
		}
		if method == http.MethodPost {
			assertProblem(t, res.body, http.StatusNotFound, "Not Found")
		}
	}
	if res := c.get("http://api.example.com/"); res.StatusCode != http.StatusOK || res.echo(t).Backend != "api" {
		t.Errorf("GET: %d %s, want the api backend", res.StatusCode, res.body)
	}
}

// assertProblem decodes an RFC 9457 body strictly: only the standard
// members, type about:blank, the reason phrase as title.
func assertProblem(t *testing.T, body []byte, status int, title string) {
	t.Helper()
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("body %q is not a problem document: %v", body, err)
	}
	if p.Type != "about:blank" || p.Title != title || p.Status != status || p.Detail == "" {
		t.Errorf("problem %+v, want type about:blank, title %q, status %d and a detail", p, title, status)
	}
}

// TestNormalisedPathIsMatchedAndForwarded proves that the path a route is
// chosen by is the path its backend receives, so no encoding of ".." can
// match a public route and reach the backend as an admin path.
func TestNormalisedPathIsMatchedAndForwarded(t *testing.T) {
	g := newGateway(t)
	public, admin := newEcho(t, "public"), newEcho(t, "admin")
	port := freePort(t)
	g.apply(httpListener("http", port, route("site", nil,
		prefixRule("/public", public.weighted(1)),
		prefixRule("/admin", admin.weighted(1)),
	)))
	c := newClient(t, port, nil)
	for _, tt := range []struct {
		path, backend, forwarded string
		status                   int
	}{
		{"/public/../admin", "admin", "/admin", 200},
		{"/public/%2e%2e/admin", "admin", "/admin", 200},
		{"/public/%2E%2E/admin/x", "admin", "/admin/x", 200},
		{"/public/./a/../b", "public", "/public/b", 200},
		{"/public/%7Euser", "public", "/public/~user", 200},
		{"/public/a%20b", "public", "/public/a%20b", 200},
		{"/public/..%2fadmin", "", "", 400},
		{"/public/..%2Fadmin", "", "", 400},
		{"/public/..%5cadmin", "", "", 400},
		{"/public/..;/admin", "", "", 400},
	} {
		req, err := http.NewRequest(http.MethodGet, "http://site.example.com"+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Send the path exactly as written; net/url would keep it, but be
		// explicit that no client-side cleaning happens.
		req.URL.Opaque = tt.path
		res := c.do(req)
		if res.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d (%s)", tt.path, res.StatusCode, tt.status, res.body)
			continue
		}
		if tt.status != 200 {
			continue
		}
		e := res.echo(t)
		if e.Backend != tt.backend || e.Path != tt.forwarded {
			t.Errorf("%s: reached %s with path %s, want %s with %s", tt.path, e.Backend, e.Path, tt.backend, tt.forwarded)
		}
	}
}

func TestRequestHeaderFilterAndForwardedHeaders(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	rule := prefixRule("/", be.weighted(1))
	rule.Filters = []snapshot.Filter{
		{Type: snapshot.FilterRequestHeaderModifier, RequestHeaderModifier: &snapshot.HeaderModifier{
			Set: []snapshot.Header{{Name: "X-Set", Value: "set"}}, Add: []snapshot.Header{{Name: "X-Add", Value: "added"}}, Remove: []string{"X-Remove"},
		}},
		{Type: snapshot.FilterResponseHeaderModifier, ResponseHeaderModifier: &snapshot.HeaderModifier{
			Set: []snapshot.Header{{Name: "X-Response", Value: "yes"}},
		}},
	}
	g.apply(httpListener("http", port, route("r", nil, rule)))
	res := newClient(t, port, nil).get("http://h.example.com/",
		"X-Set", "client", "X-Add", "client", "X-Remove", "gone",
		"Connection", "X-Hop", "X-Hop", "hop", "X-Forwarded-For", "203.0.113.7")
	e := res.echo(t)
	h := e.Header
	if h.Get("X-Set") != "set" || strings.Join(h.Values("X-Add"), ",") != "client,added" || h.Get("X-Remove") != "" {
		t.Errorf("request header filter: X-Set=%q X-Add=%q X-Remove=%q", h.Get("X-Set"), h.Values("X-Add"), h.Get("X-Remove"))
	}
	if h.Get("X-Hop") != "" {
		t.Errorf("header named in Connection reached the backend: %q", h.Get("X-Hop"))
	}
	if got := h.Get("X-Forwarded-For"); got != "203.0.113.7, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q, want the client's chain then 127.0.0.1", got)
	}
	if h.Get("X-Forwarded-Proto") != "http" || h.Get("X-Forwarded-Host") != "h.example.com" {
		t.Errorf("X-Forwarded-Proto=%q -Host=%q", h.Get("X-Forwarded-Proto"), h.Get("X-Forwarded-Host"))
	}
	if e.Host != "h.example.com" {
		t.Errorf("backend saw Host %q, want the client's", e.Host)
	}
	if res.Header.Get("X-Response") != "yes" {
		t.Errorf("response header filter: X-Response=%q", res.Header.Get("X-Response"))
	}
}

func TestRedirectAndRewrite(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	https, newHost := "https", "new.example.com"
	redirect := prefixRule("/old")
	redirect.Filters = []snapshot.Filter{{Type: snapshot.FilterRequestRedirect, RequestRedirect: &snapshot.Redirect{
		Scheme: &https, Hostname: &newHost, StatusCode: 301,
		Path: &snapshot.PathModifier{Type: snapshot.ReplacePrefixMatch, ReplacePrefixMatch: "/new"},
	}}}
	rewrite := prefixRule("/api", be.weighted(1))
	rewrite.Filters = []snapshot.Filter{{Type: snapshot.FilterURLRewrite, URLRewrite: &snapshot.Rewrite{
		Hostname: &newHost, Path: &snapshot.PathModifier{Type: snapshot.ReplacePrefixMatch, ReplacePrefixMatch: "/v2"},
	}}}
	g.apply(httpListener("http", port, route("r", nil, redirect, rewrite)))
	c := newClient(t, port, nil)

	res := c.get("http://h.example.com/old/page?q=1")
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "https://new.example.com/new/page?q=1" {
		t.Errorf("redirect: %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	e := c.get("http://h.example.com/api/users?q=1").echo(t)
	if e.Path != "/v2/users" || e.Query != "q=1" || e.Host != newHost {
		t.Errorf("rewrite: backend saw %s?%s Host %s", e.Path, e.Query, e.Host)
	}
}

func TestWeightedBackendsSplitTraffic(t *testing.T) {
	g := newGateway(t)
	a, b, never := newEcho(t, "a"), newEcho(t, "b"), newEcho(t, "never")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", a.weighted(3), b.weighted(1), never.weighted(0)))))
	c := newClient(t, port, nil)
	const n = 2000
	for range n {
		if res := c.get("http://h.example.com/"); res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	// With p = 0.75, the standard deviation of a's share over 2000
	// requests is about 0.0097; 0.05 is over five of them.
	share := float64(a.requests()) / n
	if share < 0.70 || share > 0.80 || a.requests()+b.requests() != n || never.requests() != 0 {
		t.Errorf("a=%d b=%d never=%d: a's share %.3f, want 0.75±0.05", a.requests(), b.requests(), never.requests(), share)
	}
}

func TestRuleWhoseBackendsAreAllInvalidAnswers500(t *testing.T) {
	g := newGateway(t)
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", snapshot.WeightedBackend{
		Backend: snapshot.Backend{Name: "default/missing:80", Invalid: "Service default/missing not found"}, Weight: 1,
	}))))
	if res := newClient(t, port, nil).get("http://h.example.com/"); res.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", res.StatusCode)
	}
}

func TestRequestTimeoutAnswers504(t *testing.T) {
	g := newGateway(t)
	slow := newEcho(t, "slow")
	slow.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	port := freePort(t)
	rule := prefixRule("/", slow.weighted(1))
	rule.Timeouts.Request = 200 * time.Millisecond
	g.apply(httpListener("http", port, route("r", nil, rule)))
	start := time.Now()
	res := newClient(t, port, nil).get("http://h.example.com/")
	if res.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status %d, want 504", res.StatusCode)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("answered after %s, want about 200ms", took)
	}
}

func TestOversizedHeadersGet431(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	res := newClient(t, port, nil).get("http://h.example.com/", "X-Big", strings.Repeat("a", 100<<10))
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", res.StatusCode)
	}
}

func TestAccessLogHasOneLinePerRequest(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	newClient(t, port, nil).get("http://h.example.com/x")
	line := strings.TrimSpace(g.log.String())
	for _, want := range []string{`"gateway":"default/gw"`, `"route":"default/r"`, `"rule":"0"`, `"method":"GET"`, `"path":"/x"`, `"status":200`, `"upstream":"127.0.0.1:`} {
		if !strings.Contains(line, want) {
			t.Errorf("access log %s lacks %s", line, want)
		}
	}
}

func TestRequestMirrorSendsACopy(t *testing.T) {
	g := newGateway(t)
	main, shadow := newEcho(t, "main"), newEcho(t, "shadow")
	port := freePort(t)
	rule := prefixRule("/", main.weighted(1))
	rule.Filters = []snapshot.Filter{{Type: snapshot.FilterRequestMirror, RequestMirror: &snapshot.Mirror{Backend: shadow.backend()}}}
	g.apply(httpListener("http", port, route("r", nil, rule)))
	c := newClient(t, port, nil)
	for range 5 {
		if e := c.get("http://h.example.com/copy").echo(t); e.Backend != "main" {
			t.Fatalf("answered by %s, want main", e.Backend)
		}
	}
	waitFor(t, func() bool { return shadow.requests() == 5 }, "5 mirrored requests")
}

// TestRedirectKeepsThePublicPort: behind a Service that maps port 8080 to
// the port the data plane binds, a redirect that keeps the port must name
// 8080, the port the client can reach.
func TestRedirectKeepsThePublicPort(t *testing.T) {
	g := newGateway(t)
	port := freePort(t)
	newHost := "new.example.com"
	rule := prefixRule("/")
	rule.Filters = []snapshot.Filter{{Type: snapshot.FilterRequestRedirect, RequestRedirect: &snapshot.Redirect{Hostname: &newHost}}}
	l := httpListener("http", port, route("r", nil, rule))
	l.PublicPort = 8080
	g.apply(l)
	res := newClient(t, port, nil).get("http://h.example.com/a")
	if got := res.Header.Get("Location"); got != "http://new.example.com:8080/a" {
		t.Errorf("Location = %q, want the public port 8080", got)
	}
}
