package filter

import "net/http"

// Chain is the compiled filters of one rule. A nil *Chain has no filters:
// every method is then a no-op that reports "nothing to do", so the proxy
// handler needs no nil checks for rules without filters.
type Chain struct {
	// request holds the URLRewrite and RequestHeaderModifier steps in filter
	// order, so a header modifier listed after a rewrite sees its result.
	request  []requestStep
	response *headerModifier
	redirect *redirect
	cors     *cors
	mirrors  []Mirror
}

// RequestInfo is what the listener and the router know about a request. The
// filters build redirects and rewrites from it rather than from the raw URL,
// so they act on the same normalised path the rule matched.
type RequestInfo struct {
	// Scheme is "http" or "https": the listener's protocol.
	Scheme string
	// Host is the request's host without a port.
	Host string
	// Port is the listener port.
	Port int
	// Path is the normalised, escaped request path.
	Path string
	// RawQuery is the query without the "?".
	RawQuery string
	// MatchedPrefix is the PathPrefix value that matched, "" when the match
	// was not a prefix match.
	MatchedPrefix string
}

// requestStep changes the outgoing request.
type requestStep interface {
	applyRequest(out *http.Request, in RequestInfo)
}

// ModifyRequest applies the URLRewrite and RequestHeaderModifier filters,
// in filter order, to out, the request about to be sent upstream. Call it
// after the backend URL is set on out (for httputil.ReverseProxy: in Rewrite,
// after SetURL, which clears out.Host), so a hostname rewrite is not undone.
func (c *Chain) ModifyRequest(out *http.Request, in RequestInfo) {
	if c == nil {
		return
	}
	for _, s := range c.request {
		s.applyRequest(out, in)
	}
}

// ModifyResponse applies the ResponseHeaderModifier filter to h. Call it on
// every response the gateway writes itself for this rule (a redirect, an
// error), before the header is written.
func (c *Chain) ModifyResponse(h http.Header) {
	if c == nil || c.response == nil {
		return
	}
	c.response.apply(h)
}

// ModifyBackendResponse prepares a backend response to be merged into the
// client's response: when the rule has a CORS filter it drops the backend's
// own CORS headers, because the gateway's, already on the client response,
// are the answer (two Access-Control-Allow-Origin values make browsers
// reject the response); then it applies ModifyResponse. Its signature fits
// httputil.ReverseProxy.ModifyResponse.
func (c *Chain) ModifyBackendResponse(resp *http.Response) error {
	if c == nil {
		return nil
	}
	if c.cors != nil {
		dropCORSHeaders(resp.Header)
	}
	c.ModifyResponse(resp.Header)
	return nil
}

// ModifiesRequest reports whether ModifyRequest changes anything: the rule
// has a URLRewrite or a RequestHeaderModifier.
func (c *Chain) ModifiesRequest() bool {
	return c != nil && len(c.request) > 0
}

// SetsRequestHeader reports whether a RequestHeaderModifier sets or adds
// the field name, given in canonical form.
func (c *Chain) SetsRequestHeader(name string) bool {
	if c == nil {
		return false
	}
	for _, s := range c.request {
		if m, ok := s.(*headerModifier); ok && m.writes(name) {
			return true
		}
	}
	return false
}
