package filter

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// multiple is the /multiple route of httproute-request-header-modifier and
// httproute-response-header-modifier.
var multiple = snapshot.HeaderModifier{
	Set:    []snapshot.Header{{Name: "X-Header-Set-1", Value: "header-set-1"}, {Name: "X-Header-Set-2", Value: "header-set-2"}},
	Add:    []snapshot.Header{{Name: "X-Header-Add-1", Value: "header-add-1"}, {Name: "X-Header-Add-2", Value: "header-add-2"}, {Name: "X-Header-Add-3", Value: "header-add-3"}},
	Remove: []string{"X-Header-Remove-1", "X-Header-Remove-2"},
}

// headerCases are the conformance cases, shared by requests and responses:
// the header before, the modifier, the header after.
var headerCases = []struct {
	name     string
	modifier snapshot.HeaderModifier
	before   http.Header
	want     http.Header
}{
	{"set adds a missing header",
		snapshot.HeaderModifier{Set: []snapshot.Header{{Name: "X-Header-Set", Value: "set-overwrites-values"}}},
		http.Header{"Some-Other-Header": {"val"}},
		http.Header{"Some-Other-Header": {"val"}, "X-Header-Set": {"set-overwrites-values"}}},
	{"set replaces every value",
		snapshot.HeaderModifier{Set: []snapshot.Header{{Name: "X-Header-Set", Value: "set-overwrites-values"}}},
		http.Header{"X-Header-Set": {"some-other-value", "another"}},
		http.Header{"X-Header-Set": {"set-overwrites-values"}}},
	{"add appends a value",
		snapshot.HeaderModifier{Add: []snapshot.Header{{Name: "X-Header-Add", Value: "add-appends-values"}}},
		http.Header{"X-Header-Add": {"some-other-value"}},
		http.Header{"X-Header-Add": {"some-other-value", "add-appends-values"}}},
	{"remove deletes every value",
		snapshot.HeaderModifier{Remove: []string{"X-Header-Remove"}},
		http.Header{"X-Header-Remove": {"val", "val2"}, "Keep": {"k"}},
		http.Header{"Keep": {"k"}}},
	{"multiple",
		multiple,
		http.Header{"X-Header-Set-2": {"set-val-2"}, "X-Header-Add-2": {"add-val-2"}, "X-Header-Remove-2": {"remove-val-2"}, "Another-Header": {"another-header-val"}},
		http.Header{
			"X-Header-Set-1": {"header-set-1"}, "X-Header-Set-2": {"header-set-2"},
			"X-Header-Add-1": {"header-add-1"}, "X-Header-Add-2": {"add-val-2", "header-add-2"}, "X-Header-Add-3": {"header-add-3"},
			"Another-Header": {"another-header-val"},
		}},
	{"names are case-insensitive",
		snapshot.HeaderModifier{
			Set:    []snapshot.Header{{Name: "x-header-SET", Value: "header-set"}},
			Add:    []snapshot.Header{{Name: "X-HEADER-ADD", Value: "header-add"}},
			Remove: []string{"x-header-remove"},
		},
		// net/http canonicalises the names of every header it parses, so
		// the client's lower-case names arrive like this.
		canonical(map[string]string{"x-header-set": "original-val-set", "x-header-add": "original-val-add", "x-header-remove": "original-val-remove"}),
		http.Header{"X-Header-Set": {"header-set"}, "X-Header-Add": {"original-val-add", "header-add"}}},
}

// canonical builds a header the way net/http parses one.
func canonical(m map[string]string) http.Header {
	h := http.Header{}
	for k, v := range m {
		h.Add(k, v)
	}
	return h
}

func TestRequestHeaderModifier(t *testing.T) {
	for _, tt := range headerCases {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCompile(t, snapshot.Filter{Type: snapshot.FilterRequestHeaderModifier, RequestHeaderModifier: &tt.modifier})
			out := httptest.NewRequest(http.MethodGet, "http://backend/", nil)
			out.Header = tt.before.Clone()
			c.ModifyRequest(out, RequestInfo{Path: "/"})
			if !reflect.DeepEqual(out.Header, tt.want) {
				t.Errorf("request header = %v, want %v", out.Header, tt.want)
			}
		})
	}
}

func TestResponseHeaderModifier(t *testing.T) {
	for _, tt := range headerCases {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCompile(t, snapshot.Filter{Type: snapshot.FilterResponseHeaderModifier, ResponseHeaderModifier: &tt.modifier})
			resp := &http.Response{Header: tt.before.Clone()}
			if err := c.ModifyBackendResponse(resp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(resp.Header, tt.want) {
				t.Errorf("response header = %v, want %v", resp.Header, tt.want)
			}
			local := tt.before.Clone()
			c.ModifyResponse(local)
			if !reflect.DeepEqual(local, tt.want) {
				t.Errorf("ModifyResponse header = %v, want %v", local, tt.want)
			}
		})
	}
}

func TestRequestHeaderModifierSetsHostOnTheRequest(t *testing.T) {
	c := mustCompile(t, snapshot.Filter{Type: snapshot.FilterRequestHeaderModifier, RequestHeaderModifier: &snapshot.HeaderModifier{
		Set: []snapshot.Header{{Name: "host", Value: "internal.example"}},
	}})
	out := httptest.NewRequest(http.MethodGet, "http://10.0.0.1:8080/", nil)
	c.ModifyRequest(out, RequestInfo{Path: "/"})
	if out.Host != "internal.example" || out.Header.Get("Host") != "" || out.URL.Host != "10.0.0.1:8080" {
		t.Errorf("Host = %q, Header[Host] = %q, URL.Host = %q; want the Host header set and the dial address untouched",
			out.Host, out.Header.Get("Host"), out.URL.Host)
	}
}

func TestResponseHeaderModifierSetsHostLikeAnyHeader(t *testing.T) {
	c := mustCompile(t, snapshot.Filter{Type: snapshot.FilterResponseHeaderModifier, ResponseHeaderModifier: &snapshot.HeaderModifier{
		Set: []snapshot.Header{{Name: "host", Value: "a.example"}},
	}})
	h := http.Header{}
	c.ModifyResponse(h)
	if got := h.Get("Host"); got != "a.example" {
		t.Errorf("response Host = %q, want a.example", got)
	}
}

func TestHeaderModifierDoesNotShareValuesBetweenRequests(t *testing.T) {
	c := mustCompile(t, snapshot.Filter{Type: snapshot.FilterResponseHeaderModifier, ResponseHeaderModifier: &snapshot.HeaderModifier{
		Set: []snapshot.Header{{Name: "X-A", Value: "1"}},
	}})
	first := http.Header{}
	c.ModifyResponse(first)
	first["X-A"][0] = "changed"
	second := http.Header{}
	c.ModifyResponse(second)
	if got := second.Get("X-A"); got != "1" {
		t.Errorf("second response X-A = %q, want 1", got)
	}
}
