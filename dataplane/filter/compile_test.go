package filter

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// mustCompile compiles filters or fails the test.
func mustCompile(t *testing.T, filters ...snapshot.Filter) *Chain {
	t.Helper()
	c, err := Compile(filters)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func TestCompileErrorsNameTheField(t *testing.T) {
	redirect := func(r snapshot.Redirect) snapshot.Filter {
		return snapshot.Filter{Type: snapshot.FilterRequestRedirect, RequestRedirect: &r}
	}
	rewrite := func(r snapshot.Rewrite) snapshot.Filter {
		return snapshot.Filter{Type: snapshot.FilterURLRewrite, URLRewrite: &r}
	}
	cors := func(c snapshot.CORS) snapshot.Filter {
		return snapshot.Filter{Type: snapshot.FilterCORS, CORS: &c}
	}
	reqHeaders := func(m snapshot.HeaderModifier) snapshot.Filter {
		return snapshot.Filter{Type: snapshot.FilterRequestHeaderModifier, RequestHeaderModifier: &m}
	}
	tests := []struct {
		name    string
		filters []snapshot.Filter
		want    string
	}{
		{"bad status code",
			[]snapshot.Filter{{Type: snapshot.FilterCORS, CORS: &snapshot.CORS{}}, {Type: snapshot.FilterRequestMirror, RequestMirror: &snapshot.Mirror{}}, redirect(snapshot.Redirect{StatusCode: 305})},
			"filters[2].requestRedirect.statusCode: 305 is not one of 301, 302, 303, 307, 308"},
		{"missing sub-struct",
			[]snapshot.Filter{{Type: snapshot.FilterRequestRedirect}},
			"filters[0].requestRedirect: required when type is RequestRedirect"},
		{"other sub-struct set",
			[]snapshot.Filter{{Type: snapshot.FilterCORS, CORS: &snapshot.CORS{}, URLRewrite: &snapshot.Rewrite{}}},
			"filters[0].urlRewrite: must be unset when type is CORS"},
		{"unknown type",
			[]snapshot.Filter{{Type: "ExtensionRef"}},
			`filters[0].type: "ExtensionRef" is not a supported filter type`},
		{"ReplacePrefixMatch with empty type",
			[]snapshot.Filter{rewrite(snapshot.Rewrite{Path: &snapshot.PathModifier{ReplacePrefixMatch: "/new"}})},
			`filters[0].urlRewrite.path.type: "" is not one of ReplaceFullPath, ReplacePrefixMatch`},
		{"ReplaceFullPath not absolute",
			[]snapshot.Filter{redirect(snapshot.Redirect{Path: &snapshot.PathModifier{Type: snapshot.ReplaceFullPath, ReplaceFullPath: "new"}})},
			`filters[0].requestRedirect.path.replaceFullPath: "new" must start with /`},
		{"replacement with a raw space",
			[]snapshot.Filter{rewrite(snapshot.Rewrite{Path: &snapshot.PathModifier{Type: snapshot.ReplacePrefixMatch, ReplacePrefixMatch: "/a b"}})},
			`filters[0].urlRewrite.path.replacePrefixMatch: "/a b" is not an escaped path`},
		{"wrong field for the path type",
			[]snapshot.Filter{rewrite(snapshot.Rewrite{Path: &snapshot.PathModifier{Type: snapshot.ReplacePrefixMatch, ReplaceFullPath: "/x"}})},
			"filters[0].urlRewrite.path.replaceFullPath: must be unset when type is ReplacePrefixMatch"},
		{"invalid CORS origin pattern",
			[]snapshot.Filter{cors(snapshot.CORS{AllowOrigins: []string{"https://a.example", "https://foo.*.example"}})},
			`filters[0].cors.allowOrigins[1]: "https://foo.*.example" has a "*" that is not the whole leftmost label`},
		{"CORS origin with a path",
			[]snapshot.Filter{cors(snapshot.CORS{AllowOrigins: []string{"https://a.example/app"}})},
			`filters[0].cors.allowOrigins[0]: "https://a.example/app" is not an origin`},
		{"CORS star beside origins",
			[]snapshot.Filter{cors(snapshot.CORS{AllowOrigins: []string{"https://a.example", "*"}})},
			`filters[0].cors.allowOrigins[1]: "*" cannot be listed alongside other origins`},
		{"CORS star beside methods",
			[]snapshot.Filter{cors(snapshot.CORS{AllowMethods: []string{"GET", "*"}})},
			`filters[0].cors.allowMethods[1]: "*" cannot be listed alongside other values`},
		{"CORS negative max age",
			[]snapshot.Filter{cors(snapshot.CORS{MaxAge: -1})},
			"filters[0].cors.maxAge: -1 must be at least 1"},
		{"redirect scheme",
			[]snapshot.Filter{redirect(snapshot.Redirect{Scheme: ptr("ftp")})},
			`filters[0].requestRedirect.scheme: "ftp" is not one of http, https`},
		{"redirect port",
			[]snapshot.Filter{redirect(snapshot.Redirect{Port: ptr(int32(70000))})},
			"filters[0].requestRedirect.port: 70000 is not a port number"},
		{"rewrite hostname with a port",
			[]snapshot.Filter{rewrite(snapshot.Rewrite{Hostname: ptr("a.example:80")})},
			`filters[0].urlRewrite.hostname: "a.example:80" is not a host name`},
		{"redirect with rewrite",
			[]snapshot.Filter{redirect(snapshot.Redirect{}), rewrite(snapshot.Rewrite{})},
			"filters[1].type: URLRewrite cannot be combined with the RequestRedirect at filters[0]"},
		{"repeated filter",
			[]snapshot.Filter{cors(snapshot.CORS{}), cors(snapshot.CORS{})},
			"filters[1].type: a second CORS filter (the first is filters[0])"},
		{"one action per header name",
			[]snapshot.Filter{reqHeaders(snapshot.HeaderModifier{Set: []snapshot.Header{{Name: "X-A", Value: "1"}}, Remove: []string{"x-a"}})},
			"filters[0].requestHeaderModifier.remove[0].name: x-a already has an action at set[0]"},
		{"bad header name",
			[]snapshot.Filter{reqHeaders(snapshot.HeaderModifier{Add: []snapshot.Header{{Name: "X A", Value: "1"}}})},
			`filters[0].requestHeaderModifier.add[0].name: "X A" is not a valid header name`},
		{"header value with a newline",
			[]snapshot.Filter{reqHeaders(snapshot.HeaderModifier{Set: []snapshot.Header{{Name: "X-A", Value: "1\r\nX-B: 2"}}})},
			"filters[0].requestHeaderModifier.set[0].value: contains a control character"},
		{"removing Host",
			[]snapshot.Filter{reqHeaders(snapshot.HeaderModifier{Remove: []string{"host"}})},
			"filters[0].requestHeaderModifier.remove[0].name: a request modifier can only set Host"},
		{"framing header",
			[]snapshot.Filter{{Type: snapshot.FilterResponseHeaderModifier, ResponseHeaderModifier: &snapshot.HeaderModifier{Set: []snapshot.Header{{Name: "content-length", Value: "1"}}}}},
			"filters[0].responseHeaderModifier.set[0].name: Content-Length is part of the message framing"},
		{"mirror percent",
			[]snapshot.Filter{{Type: snapshot.FilterRequestMirror, RequestMirror: &snapshot.Mirror{Percent: ptr(101.0)}}},
			"filters[0].requestMirror.percent: 101 is not between 0 and 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Compile(tt.filters)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile error = %v, want one containing %q", err, tt.want)
			}
			if c != nil {
				t.Errorf("Compile returned a Chain with an error")
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %v holds no *FieldError", err)
			}
		})
	}
}

func TestCompileReportsEveryProblem(t *testing.T) {
	_, err := Compile([]snapshot.Filter{
		{Type: snapshot.FilterRequestRedirect, RequestRedirect: &snapshot.Redirect{StatusCode: 200, Scheme: ptr("ftp")}},
		{Type: snapshot.FilterCORS},
	})
	for _, want := range []string{"filters[0].requestRedirect.statusCode", "filters[0].requestRedirect.scheme", "filters[1].cors"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func TestChainWithoutFiltersDoesNothing(t *testing.T) {
	for name, c := range map[string]*Chain{"nil": nil, "empty": mustCompile(t)} {
		t.Run(name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodOptions, "/", nil)
			r.Header.Set("Origin", "https://a.example")
			r.Header.Set("Access-Control-Request-Method", "GET")
			if c.CORS(w, r) {
				t.Error("CORS handled a request without a CORS filter")
			}
			if _, _, ok := c.Redirect(RequestInfo{Path: "/"}); ok {
				t.Error("Redirect answered without a redirect filter")
			}
			out := httptest.NewRequest(http.MethodGet, "http://backend/x", nil)
			c.ModifyRequest(out, RequestInfo{Path: "/x"})
			resp := &http.Response{Header: http.Header{"Access-Control-Allow-Origin": {"*"}}}
			if err := c.ModifyBackendResponse(resp); err != nil || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("ModifyBackendResponse changed a response without filters: %v %v", err, resp.Header)
			}
			if len(c.Mirrors()) != 0 || len(w.Header()) != 0 || out.URL.Path != "/x" {
				t.Errorf("a chain without filters changed something: %v %v %v", c.Mirrors(), w.Header(), out.URL)
			}
		})
	}
}
