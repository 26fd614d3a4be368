package filter

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/certgate/certgate/dataplane/httphead"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// defaultMaxAge is the Gateway API default for Access-Control-Max-Age.
const defaultMaxAge = 5

// cors is a compiled CORS filter. The header values are joined once here.
//
// The gateway never answers with a literal "*" for origins, methods or
// request headers; it echoes what the request asked for, which the Gateway
// API allows whatever allowCredentials says and requires when it is true.
// One behaviour for both settings is simpler to reason about, and an echoed
// Access-Control-Allow-Headers also covers Authorization, which the Fetch
// standard never lets a "*" cover.
type cors struct {
	origins     originMatcher
	credentials bool
	anyMethod   bool
	methods     string
	anyHeader   bool
	headers     string
	expose      string
	maxAge      string
}

// The CORS response headers the gateway owns on a rule with a CORS filter.
var corsHeaders = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
	"Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Expose-Headers", "Access-Control-Max-Age",
}

// CORS applies the rule's CORS filter. A preflight (OPTIONS with Origin and
// Access-Control-Request-Method) is answered here, and CORS returns true:
// 200 with the CORS headers for an allowed origin, 403 without them for
// any other (the Gateway API allows 200, 204 or 403; 403 makes the refusal
// visible in access logs and metrics). For any other request CORS puts the
// response's CORS headers on w when the origin is allowed, and returns
// false. Every answer carries Vary, so caches keep answers for different
// origins apart.
func (c *Chain) CORS(w http.ResponseWriter, r *http.Request) (handled bool) {
	if c == nil || c.cors == nil {
		return false
	}
	h := w.Header()
	if r.Method != http.MethodOptions || r.Header.Get("Origin") == "" ||
		r.Header.Get("Access-Control-Request-Method") == "" {
		c.cors.actual(h, r)
		return false
	}
	status := c.cors.preflight(h, r)
	c.ModifyResponse(h)
	w.WriteHeader(status)
	return true
}

// actual sets the headers of a response to a CORS request that is not a
// preflight.
func (c *cors) actual(h http.Header, r *http.Request) {
	h.Add("Vary", "Origin")
	o := r.Header.Get("Origin")
	if o == "" || !c.origins.allows(o) {
		return
	}
	c.allowOrigin(h, o)
	if c.expose != "" {
		h.Set("Access-Control-Expose-Headers", c.expose)
	}
}

// preflight sets the headers of a preflight answer and returns its status.
func (c *cors) preflight(h http.Header, r *http.Request) int {
	h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	o := r.Header.Get("Origin")
	if !c.origins.allows(o) {
		return http.StatusForbidden
	}
	c.allowOrigin(h, o)
	setIf(h, "Access-Control-Allow-Methods", c.methods)
	if c.anyMethod {
		h.Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
	}
	setIf(h, "Access-Control-Allow-Headers", c.headers)
	if c.anyHeader {
		// Without Access-Control-Request-Headers there is nothing to echo,
		// and the spec says to omit the header.
		setIf(h, "Access-Control-Allow-Headers", strings.Join(r.Header.Values("Access-Control-Request-Headers"), ", "))
	}
	setIf(h, "Access-Control-Expose-Headers", c.expose)
	h.Set("Access-Control-Max-Age", c.maxAge)
	return http.StatusOK
}

// allowOrigin echoes the allowed origin, with the credentials flag.
func (c *cors) allowOrigin(h http.Header, origin string) {
	h.Set("Access-Control-Allow-Origin", origin)
	if c.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// setIf sets h[name] when value is not empty.
func setIf(h http.Header, name, value string) {
	if value != "" {
		h.Set(name, value)
	}
}

// dropCORSHeaders removes the CORS headers a backend sent.
func dropCORSHeaders(h http.Header) {
	for _, name := range corsHeaders {
		delete(h, name)
	}
}

// compileCORS checks and compiles f.
func compileCORS(f *snapshot.CORS, field string, p *problems) *cors {
	n := len(*p)
	c := &cors{
		origins:     compileOrigins(f.AllowOrigins, field+".allowOrigins", p),
		credentials: f.AllowCredentials,
		maxAge:      strconv.Itoa(defaultMaxAge),
	}
	c.methods, c.anyMethod = compileTokens(f.AllowMethods, field+".allowMethods", true, p)
	c.headers, c.anyHeader = compileTokens(f.AllowHeaders, field+".allowHeaders", true, p)
	c.expose = compileExpose(f.ExposeHeaders, f.AllowCredentials, field+".exposeHeaders", p)
	switch {
	case f.MaxAge < 0:
		p.add(field+".maxAge", "%d must be at least 1 (0 means the default, %d)", f.MaxAge, defaultMaxAge)
	case f.MaxAge > 0:
		c.maxAge = strconv.Itoa(int(f.MaxAge))
	}
	if len(*p) > n {
		return nil
	}
	return c
}

// compileTokens checks a list of methods or header names and joins it; a
// lone "*" comes back as wildcard, and "*" alongside others is an error,
// as the Gateway API's validation says.
func compileTokens(list []string, field string, starAlone bool, p *problems) (joined string, wildcard bool) {
	for i, v := range list {
		at := field + "[" + strconv.Itoa(i) + "]"
		switch {
		case v == "*" && starAlone && len(list) > 1:
			p.add(at, `"*" cannot be listed alongside other values`)
		case v == "*":
			wildcard = true
		case !httphead.IsToken(v):
			p.add(at, "%q is not a valid name", v)
		}
	}
	if wildcard && starAlone {
		return "", true
	}
	return strings.Join(list, ", "), false
}

// compileExpose joins exposeHeaders. With allowCredentials the Gateway API
// forbids answering "*"; the Fetch standard would read it as a header
// literally named "*" anyway, so it is dropped and the other names kept.
func compileExpose(list []string, credentials bool, field string, p *problems) string {
	joined, _ := compileTokens(list, field, false, p)
	if !credentials {
		return joined
	}
	var kept []string
	for _, v := range list {
		if v != "*" {
			kept = append(kept, v)
		}
	}
	return strings.Join(kept, ", ")
}
