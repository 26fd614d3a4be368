package translator

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// redirectCodes are the redirect status codes the data plane sends.
var redirectCodes = map[int]bool{301: true, 302: true, 303: true, 307: true, 308: true}

// convertFilters converts a rule's filters, in order. The spec allows
// each filter type once per rule, except RequestMirror (and ExtensionRef,
// which certgate does not support), and forbids URLRewrite with
// RequestRedirect: such rules are IncompatibleFilters. A RequestMirror
// whose backend cannot be resolved is dropped, as the spec says, and
// reported in problems.
func (t *translator) convertFilters(from groupKind, routeNS string, fs []gatewayv1.HTTPRouteFilter, matches []snapshot.Match) ([]snapshot.Filter, []refProblem, *ruleError) {
	var out []snapshot.Filter
	var problems []refProblem
	seen := map[gatewayv1.HTTPRouteFilterType]bool{}
	for i, f := range fs {
		if seen[f.Type] && f.Type != gatewayv1.HTTPRouteFilterRequestMirror {
			return nil, nil, &ruleError{gatewayv1.RouteReasonIncompatibleFilters, fmt.Sprintf("filters[%d]: %s given more than once", i, f.Type)}
		}
		seen[f.Type] = true
		if f.Type == gatewayv1.HTTPRouteFilterRequestMirror && f.RequestMirror != nil {
			m, p := t.convertMirror(from, routeNS, f.RequestMirror)
			if p != nil {
				problems = append(problems, *p)
				continue
			}
			out = append(out, snapshot.Filter{Type: snapshot.FilterRequestMirror, RequestMirror: m})
			continue
		}
		sf, err := convertFilter(f, matches)
		if err != nil {
			return nil, nil, unsupported("filters[%d]: %s", i, err.message)
		}
		out = append(out, sf)
	}
	if seen[gatewayv1.HTTPRouteFilterURLRewrite] && seen[gatewayv1.HTTPRouteFilterRequestRedirect] {
		return nil, nil, &ruleError{gatewayv1.RouteReasonIncompatibleFilters, "URLRewrite and RequestRedirect cannot be combined in one rule"}
	}
	return out, problems, nil
}

// convertFilter converts one filter other than RequestMirror. ExtensionRef
// and ExternalAuth are not supported; nor is any type the spec may add
// later.
func convertFilter(f gatewayv1.HTTPRouteFilter, matches []snapshot.Match) (snapshot.Filter, *ruleError) {
	out := snapshot.Filter{Type: snapshot.FilterType(f.Type)}
	var err *ruleError
	switch {
	case f.Type == gatewayv1.HTTPRouteFilterRequestHeaderModifier && f.RequestHeaderModifier != nil:
		out.RequestHeaderModifier = convertHeaders(f.RequestHeaderModifier)
	case f.Type == gatewayv1.HTTPRouteFilterResponseHeaderModifier && f.ResponseHeaderModifier != nil:
		out.ResponseHeaderModifier = convertHeaders(f.ResponseHeaderModifier)
	case f.Type == gatewayv1.HTTPRouteFilterRequestRedirect && f.RequestRedirect != nil:
		out.RequestRedirect, err = convertRedirect(f.RequestRedirect, matches)
	case f.Type == gatewayv1.HTTPRouteFilterURLRewrite && f.URLRewrite != nil:
		out.URLRewrite, err = convertRewrite(f.URLRewrite, matches)
	case f.Type == gatewayv1.HTTPRouteFilterCORS && f.CORS != nil:
		out.CORS = convertCORS(f.CORS)
	case f.Type == gatewayv1.HTTPRouteFilterExtensionRef:
		err = unsupported("ExtensionRef filters are not supported by certgate")
	default:
		err = unsupported("filter type %q is not supported, or its %s field is missing", f.Type, f.Type)
	}
	return out, err
}

func convertHeaders(h *gatewayv1.HTTPHeaderFilter) *snapshot.HeaderModifier {
	out := &snapshot.HeaderModifier{Remove: h.Remove}
	for _, s := range h.Set {
		out.Set = append(out.Set, snapshot.Header{Name: string(s.Name), Value: s.Value})
	}
	for _, a := range h.Add {
		out.Add = append(out.Add, snapshot.Header{Name: string(a.Name), Value: a.Value})
	}
	return out
}

// convertRedirect converts a RequestRedirect. Scheme must be http or
// https; the status code defaults to 302, the API's default.
func convertRedirect(r *gatewayv1.HTTPRequestRedirectFilter, matches []snapshot.Match) (*snapshot.Redirect, *ruleError) {
	out := &snapshot.Redirect{Scheme: r.Scheme, Port: r.Port, StatusCode: 302}
	if r.Scheme != nil && *r.Scheme != "http" && *r.Scheme != "https" {
		return nil, unsupported("requestRedirect.scheme %q is not http or https", *r.Scheme)
	}
	if r.Hostname != nil {
		out.Hostname = ptrTo(string(*r.Hostname))
	}
	if r.StatusCode != nil {
		if !redirectCodes[*r.StatusCode] {
			return nil, unsupported("requestRedirect.statusCode %d is not 301, 302, 303, 307 or 308", *r.StatusCode)
		}
		out.StatusCode = *r.StatusCode
	}
	var err *ruleError
	out.Path, err = convertPathModifier(r.Path, matches, "requestRedirect")
	return out, err
}

func convertRewrite(r *gatewayv1.HTTPURLRewriteFilter, matches []snapshot.Match) (*snapshot.Rewrite, *ruleError) {
	out := &snapshot.Rewrite{}
	if r.Hostname != nil {
		out.Hostname = ptrTo(string(*r.Hostname))
	}
	var err *ruleError
	out.Path, err = convertPathModifier(r.Path, matches, "urlRewrite")
	return out, err
}

// convertPathModifier converts a redirect or rewrite path. The spec allows
// ReplacePrefixMatch only when every match of the rule is a PathPrefix
// one (a rule without matches is PathPrefix "/").
func convertPathModifier(p *gatewayv1.HTTPPathModifier, matches []snapshot.Match, field string) (*snapshot.PathModifier, *ruleError) {
	if p == nil {
		return nil, nil
	}
	switch p.Type {
	case gatewayv1.FullPathHTTPPathModifier:
		if p.ReplaceFullPath == nil {
			return nil, unsupported("%s.path.replaceFullPath is required", field)
		}
		return &snapshot.PathModifier{Type: snapshot.ReplaceFullPath, ReplaceFullPath: *p.ReplaceFullPath}, nil
	case gatewayv1.PrefixMatchHTTPPathModifier:
		if p.ReplacePrefixMatch == nil {
			return nil, unsupported("%s.path.replacePrefixMatch is required", field)
		}
		for _, m := range matches {
			if m.Path != nil && m.Path.Type != snapshot.PathPrefix {
				return nil, unsupported("%s.path: ReplacePrefixMatch needs PathPrefix matches, not %s", field, m.Path.Type)
			}
		}
		return &snapshot.PathModifier{Type: snapshot.ReplacePrefixMatch, ReplacePrefixMatch: *p.ReplacePrefixMatch}, nil
	}
	return nil, unsupported("%s.path.type %q is not ReplaceFullPath or ReplacePrefixMatch", field, p.Type)
}

func convertCORS(c *gatewayv1.HTTPCORSFilter) *snapshot.CORS {
	out := &snapshot.CORS{MaxAge: c.MaxAge, AllowCredentials: c.AllowCredentials != nil && *c.AllowCredentials}
	for _, o := range c.AllowOrigins {
		out.AllowOrigins = append(out.AllowOrigins, string(o))
	}
	for _, m := range c.AllowMethods {
		out.AllowMethods = append(out.AllowMethods, string(m))
	}
	for _, h := range c.AllowHeaders {
		out.AllowHeaders = append(out.AllowHeaders, string(h))
	}
	for _, h := range c.ExposeHeaders {
		out.ExposeHeaders = append(out.ExposeHeaders, string(h))
	}
	return out
}

// convertMirror resolves a RequestMirror's backend and its share of
// requests: percent, or fraction (denominator defaults to 100), or all.
func (t *translator) convertMirror(from groupKind, routeNS string, m *gatewayv1.HTTPRequestMirrorFilter) (*snapshot.Mirror, *refProblem) {
	b, p := t.resolveBackend(from, routeNS, m.BackendRef)
	if p != nil {
		return nil, &refProblem{p.reason, "requestMirror: " + p.message}
	}
	out := &snapshot.Mirror{Backend: b}
	switch {
	case m.Percent != nil:
		out.Percent = ptrTo(float64(min(max(*m.Percent, 0), 100)))
	case m.Fraction != nil:
		den := int32(100)
		if m.Fraction.Denominator != nil && *m.Fraction.Denominator > 0 {
			den = *m.Fraction.Denominator
		}
		out.Percent = ptrTo(min(max(100*float64(m.Fraction.Numerator)/float64(den), 0), 100))
	}
	return out, nil
}
