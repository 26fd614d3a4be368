package snapshot

// FilterType names an HTTPRoute filter.
type FilterType string

// The HTTPRoute filters the data plane implements.
const (
	FilterRequestHeaderModifier  FilterType = "RequestHeaderModifier"
	FilterResponseHeaderModifier FilterType = "ResponseHeaderModifier"
	FilterRequestRedirect        FilterType = "RequestRedirect"
	FilterURLRewrite             FilterType = "URLRewrite"
	FilterRequestMirror          FilterType = "RequestMirror"
	FilterCORS                   FilterType = "CORS"
)

// Filter is one HTTPRoute filter; exactly the field named by Type is set.
type Filter struct {
	Type                   FilterType      `json:"type"`
	RequestHeaderModifier  *HeaderModifier `json:"requestHeaderModifier,omitempty"`
	ResponseHeaderModifier *HeaderModifier `json:"responseHeaderModifier,omitempty"`
	RequestRedirect        *Redirect       `json:"requestRedirect,omitempty"`
	URLRewrite             *Rewrite        `json:"urlRewrite,omitempty"`
	RequestMirror          *Mirror         `json:"requestMirror,omitempty"`
	CORS                   *CORS           `json:"cors,omitempty"`
}

// Header is a header name and value.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HeaderModifier sets, adds and removes headers, in that order.
type HeaderModifier struct {
	Set    []Header `json:"set,omitempty"`
	Add    []Header `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

// PathModifierType is how a redirect or rewrite changes the path.
type PathModifierType string

// Path modifier types.
const (
	ReplaceFullPath    PathModifierType = "ReplaceFullPath"
	ReplacePrefixMatch PathModifierType = "ReplacePrefixMatch"
)

// PathModifier replaces the whole path, or the part the rule's PathPrefix
// match matched.
type PathModifier struct {
	Type               PathModifierType `json:"type"`
	ReplaceFullPath    string           `json:"replaceFullPath,omitempty"`
	ReplacePrefixMatch string           `json:"replacePrefixMatch,omitempty"`
}

// Redirect answers with a redirect instead of proxying. Nil fields keep the
// request's value.
type Redirect struct {
	Scheme   *string       `json:"scheme,omitempty"`
	Hostname *string       `json:"hostname,omitempty"`
	Port     *int32        `json:"port,omitempty"`
	Path     *PathModifier `json:"path,omitempty"`
	// StatusCode is 301, 302, 303, 307 or 308; 0 means 302.
	StatusCode int `json:"statusCode,omitempty"`
}

// Rewrite changes the request before it is sent upstream.
type Rewrite struct {
	Hostname *string       `json:"hostname,omitempty"`
	Path     *PathModifier `json:"path,omitempty"`
}

// Mirror sends a copy of requests to another backend and ignores the
// answer.
type Mirror struct {
	Backend Backend `json:"backend"`
	// Percent of requests mirrored, 0 to 100; a nil Percent mirrors all.
	Percent *float64 `json:"percent,omitempty"`
}

// CORS answers preflight requests and adds CORS headers to responses.
type CORS struct {
	// AllowOrigins are origins ("https://a.example") or patterns with one
	// "*" in the host ("https://*.example"); "*" alone allows any origin.
	AllowOrigins     []string `json:"allowOrigins,omitempty"`
	AllowCredentials bool     `json:"allowCredentials,omitempty"`
	AllowMethods     []string `json:"allowMethods,omitempty"`
	AllowHeaders     []string `json:"allowHeaders,omitempty"`
	ExposeHeaders    []string `json:"exposeHeaders,omitempty"`
	// MaxAge is in seconds; 0 means the Gateway API default of 5.
	MaxAge int32 `json:"maxAge,omitempty"`
}
