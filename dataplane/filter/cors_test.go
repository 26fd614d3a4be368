package filter

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// The routes of the conformance test httproute-cors.
var (
	cors1 = snapshot.CORS{
		AllowOrigins:     []string{"https://www.foo.com", "https://*.bar.com"},
		AllowMethods:     []string{"GET", "OPTIONS"},
		AllowHeaders:     []string{"x-header-1", "x-header-2"},
		ExposeHeaders:    []string{"x-header-3", "x-header-4"},
		AllowCredentials: true,
		MaxAge:           3600,
	}
	cors2              = snapshot.CORS{AllowOrigins: []string{"https://www.foo.com"}, AllowMethods: []string{"*"}}
	corsWildcardOrigin = snapshot.CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"PUT"}}
	corsWildcardAuth   = snapshot.CORS{AllowOrigins: []string{"https://other.foo.com"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}, AllowCredentials: true}
	corsWildcardUnauth = snapshot.CORS{AllowOrigins: []string{"https://other.foo.com"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}}
)

// corsExchange runs one request through a chain with filter f and returns
// whether CORS handled it and the response.
func corsExchange(t *testing.T, f snapshot.CORS, method string, headers map[string]string) (bool, *httptest.ResponseRecorder) {
	t.Helper()
	c := mustCompile(t, snapshot.Filter{Type: snapshot.FilterCORS, CORS: &f})
	r := httptest.NewRequest(method, "http://gw.test/cors", nil)
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	handled := c.CORS(w, r)
	if !handled {
		w.WriteHeader(http.StatusOK) // what the backend would do
	}
	return handled, w
}

func preflight(origin, method, headers string) map[string]string {
	h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
	if headers != "" {
		h["Access-Control-Request-Headers"] = headers
	}
	return h
}

func TestCORSPreflight(t *testing.T) {
	tests := []struct {
		name    string
		filter  snapshot.CORS
		request map[string]string
		status  int
		want    map[string]string // "" means absent
	}{
		{"exact origin", cors1, preflight("https://www.foo.com", "GET", "x-header-1, x-header-2"), 200, map[string]string{
			"Access-Control-Allow-Origin": "https://www.foo.com", "Access-Control-Allow-Methods": "GET, OPTIONS",
			"Access-Control-Allow-Headers": "x-header-1, x-header-2", "Access-Control-Expose-Headers": "x-header-3, x-header-4",
			"Access-Control-Max-Age": "3600", "Access-Control-Allow-Credentials": "true",
		}},
		{"wildcard origin pattern", cors1, preflight("https://www.bar.com", "GET", "x-header-1, x-header-2"), 200, map[string]string{
			"Access-Control-Allow-Origin": "https://www.bar.com", "Access-Control-Allow-Credentials": "true",
		}},
		{"wildcard spans labels", cors1, preflight("https://xpto.www.bar.com", "GET", ""), 200, map[string]string{
			"Access-Control-Allow-Origin": "https://xpto.www.bar.com",
		}},
		{"wildcard needs a label", cors1, preflight("https://bar.com", "GET", ""), 403, map[string]string{
			"Access-Control-Allow-Origin": "",
		}},
		{"origin not allowed", cors1, preflight("https://foobar.com", "GET", ""), 403, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Access-Control-Allow-Methods": "",
		}},
		{"wildcard methods echo the method", cors2, preflight("https://www.foo.com", "POST", ""), 200, map[string]string{
			"Access-Control-Allow-Origin": "https://www.foo.com", "Access-Control-Allow-Methods": "POST",
			"Access-Control-Allow-Credentials": "", "Access-Control-Allow-Headers": "",
		}},
		{"max age defaults to 5", cors2, preflight("https://www.foo.com", "GET", ""), 200, map[string]string{
			"Access-Control-Max-Age": "5",
		}},
		{"any origin, no credentials", corsWildcardOrigin, preflight("https://foobar.com", "PUT", ""), 200, map[string]string{
			"Access-Control-Allow-Origin": "https://foobar.com", "Access-Control-Allow-Methods": "PUT", "Access-Control-Allow-Credentials": "",
		}},
		{"any origin with a port", corsWildcardOrigin, preflight("https://foobar.com:12345", "PUT", ""), 200, map[string]string{
			"Access-Control-Allow-Origin": "https://foobar.com:12345",
		}},
		{"opaque origin never allowed", corsWildcardOrigin, preflight("null", "PUT", ""), 403, map[string]string{
			"Access-Control-Allow-Origin": "",
		}},
		{"credentials with wildcards echo", corsWildcardAuth, preflight("https://other.foo.com", "PUT", "x-header-1, x-header-2"), 200, map[string]string{
			"Access-Control-Allow-Origin": "https://other.foo.com", "Access-Control-Allow-Methods": "PUT",
			"Access-Control-Allow-Headers": "x-header-1, x-header-2", "Access-Control-Allow-Credentials": "true",
		}},
		{"wildcard headers without request headers", corsWildcardAuth, preflight("https://other.foo.com", "PUT", ""), 200, map[string]string{
			"Access-Control-Allow-Headers": "",
		}},
		{"no credentials hides the credentials header", corsWildcardUnauth, preflight("https://other.foo.com", "PUT", "x-header-1, x-header-2"), 200, map[string]string{
			"Access-Control-Allow-Origin": "https://other.foo.com", "Access-Control-Allow-Credentials": "",
			"Access-Control-Allow-Headers": "x-header-1, x-header-2",
		}},
		{"default port is the same origin", snapshot.CORS{AllowOrigins: []string{"https://a.example:443"}}, preflight("https://A.example", "GET", ""), 200, map[string]string{
			"Access-Control-Allow-Origin": "https://A.example",
		}},
		{"other port is another origin", snapshot.CORS{AllowOrigins: []string{"https://a.example"}}, preflight("https://a.example:8443", "GET", ""), 403, map[string]string{
			"Access-Control-Allow-Origin": "",
		}},
		{"empty allowOrigins allows none", snapshot.CORS{AllowCredentials: true}, preflight("https://app.example", "GET", ""), 403, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handled, w := corsExchange(t, tt.filter, http.MethodOptions, tt.request)
			if !handled || w.Code != tt.status {
				t.Fatalf("handled %v, status %d; want the gateway to answer %d", handled, w.Code, tt.status)
			}
			checkHeaders(t, w.Header(), tt.want)
			if !strings.Contains(strings.Join(w.Header().Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin in it", w.Header().Values("Vary"))
			}
		})
	}
}

func TestCORSActualRequest(t *testing.T) {
	tests := []struct {
		name    string
		filter  snapshot.CORS
		method  string
		request map[string]string
		want    map[string]string
	}{
		{"exact origin", cors1, "GET", map[string]string{"Origin": "https://www.foo.com"}, map[string]string{
			"Access-Control-Allow-Origin": "https://www.foo.com", "Access-Control-Allow-Credentials": "true",
			"Access-Control-Expose-Headers": "x-header-3, x-header-4", "Access-Control-Max-Age": "", "Access-Control-Allow-Methods": "",
		}},
		{"wildcard origin pattern", cors1, "GET", map[string]string{"Origin": "https://www.bar.com"}, map[string]string{
			"Access-Control-Allow-Origin": "https://www.bar.com",
		}},
		{"origin not allowed", cors1, "GET", map[string]string{"Origin": "https://foobar.com"}, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Access-Control-Expose-Headers": "",
		}},
		{"no origin", cors1, "GET", nil, map[string]string{"Access-Control-Allow-Origin": ""}},
		{"any origin", corsWildcardOrigin, "PUT", map[string]string{"Origin": "https://foobar.com:12345"}, map[string]string{
			"Access-Control-Allow-Origin": "https://foobar.com:12345", "Access-Control-Allow-Credentials": "",
		}},
		{"credentials echo the origin", corsWildcardAuth, "GET", map[string]string{"Origin": "https://other.foo.com", "Cookie": "sid=abc123"}, map[string]string{
			"Access-Control-Allow-Origin": "https://other.foo.com", "Access-Control-Allow-Credentials": "true",
		}},
		{"OPTIONS without a request method is not a preflight", cors1, "OPTIONS", map[string]string{"Origin": "https://www.foo.com"}, map[string]string{
			"Access-Control-Allow-Origin": "https://www.foo.com", "Access-Control-Max-Age": "",
		}},
		// httproute-cors-allow-credentials-behavior.
		{"credentials false omits the header", snapshot.CORS{AllowOrigins: []string{"https://app.example"}}, "GET", map[string]string{"Origin": "https://app.example"}, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Credentials": "",
		}},
		{"credentials only beside an allowed origin", snapshot.CORS{AllowOrigins: []string{"https://app.example"}, AllowCredentials: true}, "GET", map[string]string{"Origin": "http://not-app.example"}, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "",
		}},
		{"expose star without credentials", snapshot.CORS{AllowOrigins: []string{"*"}, ExposeHeaders: []string{"*"}}, "GET", map[string]string{"Origin": "https://a.example"}, map[string]string{
			"Access-Control-Expose-Headers": "*",
		}},
		{"expose star dropped with credentials", snapshot.CORS{AllowOrigins: []string{"*"}, ExposeHeaders: []string{"*", "X-Trace"}, AllowCredentials: true}, "GET", map[string]string{"Origin": "https://a.example"}, map[string]string{
			"Access-Control-Expose-Headers": "X-Trace",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handled, w := corsExchange(t, tt.filter, tt.method, tt.request)
			if handled {
				t.Fatal("CORS answered a request that is not a preflight")
			}
			checkHeaders(t, w.Header(), tt.want)
			if got := w.Header().Get("Vary"); got != "Origin" {
				t.Errorf("Vary = %q, want Origin", got)
			}
		})
	}
}

func TestCORSPreflightCarriesTheResponseHeaderModifier(t *testing.T) {
	c := mustCompile(t,
		snapshot.Filter{Type: snapshot.FilterCORS, CORS: &cors2},
		snapshot.Filter{Type: snapshot.FilterResponseHeaderModifier, ResponseHeaderModifier: &snapshot.HeaderModifier{Set: []snapshot.Header{{Name: "X-Served-By", Value: "gw"}}}},
	)
	r := httptest.NewRequest(http.MethodOptions, "/", nil)
	r.Header.Set("Origin", "https://www.foo.com")
	r.Header.Set("Access-Control-Request-Method", "GET")
	w := httptest.NewRecorder()
	if !c.CORS(w, r) || w.Header().Get("X-Served-By") != "gw" {
		t.Errorf("preflight answer %v lacks the response header modifier", w.Header())
	}
}

func TestBackendCORSHeadersGiveWayToTheGateways(t *testing.T) {
	c := mustCompile(t, snapshot.Filter{Type: snapshot.FilterCORS, CORS: &cors1})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Origin", "https://www.foo.com")
	w := httptest.NewRecorder()
	c.CORS(w, r)
	resp := &http.Response{Header: http.Header{
		"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Methods": {"DELETE"}, "Content-Type": {"text/plain"},
	}}
	if err := c.ModifyBackendResponse(resp); err != nil {
		t.Fatal(err)
	}
	// What httputil.ReverseProxy does next: add the backend's header to w's.
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	checkHeaders(t, w.Header(), map[string]string{
		"Access-Control-Allow-Origin": "https://www.foo.com", "Access-Control-Allow-Methods": "", "Content-Type": "text/plain",
	})
	if n := len(w.Header().Values("Access-Control-Allow-Origin")); n != 1 {
		t.Errorf("%d Access-Control-Allow-Origin values, want 1", n)
	}
}

// checkHeaders compares the named headers; "" means the header is absent.
func checkHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for name, v := range want {
		got := strings.Join(h.Values(name), ", ")
		if got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
}
