package translator

import (
	"fmt"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
)

func unsupported(format string, args ...any) *ruleError {
	return &ruleError{gatewayv1.RouteReasonUnsupportedValue, fmt.Sprintf(format, args...)}
}

// methods are the HTTP methods a match may name.
var methods = map[gatewayv1.HTTPMethod]bool{
	gatewayv1.HTTPMethodGet: true, gatewayv1.HTTPMethodHead: true, gatewayv1.HTTPMethodPost: true,
	gatewayv1.HTTPMethodPut: true, gatewayv1.HTTPMethodDelete: true, gatewayv1.HTTPMethodConnect: true,
	gatewayv1.HTTPMethodOptions: true, gatewayv1.HTTPMethodTrace: true, gatewayv1.HTTPMethodPatch: true,
}

// convertMatches converts a rule's matches. A rule without matches gets
// none in the snapshot, which the data plane reads as PathPrefix "/", the
// spec's default.
func convertMatches(ms []gatewayv1.HTTPRouteMatch) ([]snapshot.Match, *ruleError) {
	var out []snapshot.Match
	for i, m := range ms {
		sm, err := convertMatch(m)
		if err != nil {
			return nil, unsupported("matches[%d]: %s", i, err.message)
		}
		out = append(out, sm)
	}
	return out, nil
}

func convertMatch(m gatewayv1.HTTPRouteMatch) (snapshot.Match, *ruleError) {
	var out snapshot.Match
	var err *ruleError
	if m.Path != nil {
		if out.Path, err = convertPath(m.Path); err != nil {
			return out, err
		}
	}
	for i, h := range m.Headers {
		vm, err := convertValue(string(h.Name), h.Value, (*string)(h.Type))
		if err != nil {
			return out, unsupported("headers[%d]: %s", i, err.message)
		}
		out.Headers = append(out.Headers, vm)
	}
	for i, q := range m.QueryParams {
		vm, err := convertValue(string(q.Name), q.Value, (*string)(q.Type))
		if err != nil {
			return out, unsupported("queryParams[%d]: %s", i, err.message)
		}
		out.QueryParams = append(out.QueryParams, vm)
	}
	if m.Method != nil {
		if !methods[*m.Method] {
			return out, unsupported("method %q is not an HTTP method", *m.Method)
		}
		out.Method = string(*m.Method)
	}
	return out, nil
}

// convertPath converts a path match; type defaults to PathPrefix and value
// to "/". Exact and PathPrefix values must be absolute paths without "//"
// (the spec's syntax); expressions must be RE2, the data plane's dialect.
func convertPath(p *gatewayv1.HTTPPathMatch) (*snapshot.PathMatch, *ruleError) {
	out := &snapshot.PathMatch{Type: snapshot.PathPrefix, Value: "/"}
	if p.Type != nil {
		out.Type = snapshot.PathMatchType(*p.Type)
	}
	if p.Value != nil {
		out.Value = *p.Value
	}
	switch out.Type {
	case snapshot.PathExact, snapshot.PathPrefix:
		if !strings.HasPrefix(out.Value, "/") || strings.Contains(out.Value, "//") {
			return nil, unsupported("path %q must start with / and not contain //", out.Value)
		}
	case snapshot.PathRegularExpression:
		if err := router.CheckRegularExpression(out.Value); err != nil {
			return nil, unsupported("path %q is not an RE2 regular expression certgate can match: %v", out.Value, err)
		}
	default:
		return nil, unsupported("path type %q is not Exact, PathPrefix or RegularExpression", out.Type)
	}
	return out, nil
}

// convertValue converts a header or query parameter match; type defaults
// to Exact.
func convertValue(name, value string, typ *string) (snapshot.ValueMatch, *ruleError) {
	out := snapshot.ValueMatch{Type: snapshot.MatchExact, Name: name, Value: value}
	if typ != nil {
		out.Type = snapshot.MatchType(*typ)
	}
	if name == "" {
		return out, unsupported("name must not be empty")
	}
	switch out.Type {
	case snapshot.MatchExact:
	case snapshot.MatchRegularExpression:
		if err := router.CheckRegularExpression(value); err != nil {
			return out, unsupported("%q is not an RE2 regular expression certgate can match: %v", value, err)
		}
	default:
		return out, unsupported("type %q is not Exact or RegularExpression", out.Type)
	}
	return out, nil
}

// convertTimeouts converts a rule's timeouts. A backendRequest longer than
// request is refused, since the spec says it must be no more than it.
func convertTimeouts(t *gatewayv1.HTTPRouteTimeouts) (snapshot.Timeouts, *ruleError) {
	var out snapshot.Timeouts
	if t == nil {
		return out, nil
	}
	var err error
	if t.Request != nil {
		if out.Request, err = parseDuration(*t.Request); err != nil {
			return out, unsupported("timeouts.request: %v", err)
		}
	}
	if t.BackendRequest != nil {
		if out.BackendRequest, err = parseDuration(*t.BackendRequest); err != nil {
			return out, unsupported("timeouts.backendRequest: %v", err)
		}
	}
	if out.Request > 0 && out.BackendRequest > out.Request {
		return out, unsupported("timeouts.backendRequest %s is longer than timeouts.request %s", out.BackendRequest, out.Request)
	}
	return out, nil
}

// defaultRetryAttempts is the number of retries of a rule whose retry
// stanza leaves attempts unset ("implementation-specific"): one retry, so
// that a stanza with only codes does something, without multiplying load
// on a failing backend.
const defaultRetryAttempts = 1

// convertRetry converts a rule's retry policy. Codes must be HTTP status
// codes; the spec requires 500, 502, 503 and 504 and allows other 4xx and
// 5xx values, which certgate retries too.
func convertRetry(r *gatewayv1.HTTPRouteRetry) (*snapshot.Retry, *ruleError) {
	if r == nil {
		return nil, nil
	}
	out := &snapshot.Retry{Attempts: defaultRetryAttempts}
	if r.Attempts != nil {
		if *r.Attempts < 0 {
			return nil, unsupported("retry.attempts %d is negative", *r.Attempts)
		}
		out.Attempts = *r.Attempts
	}
	for _, c := range r.Codes {
		if c < 400 || c > 599 {
			return nil, unsupported("retry.codes: %d is not a 4xx or 5xx status", c)
		}
		out.Codes = append(out.Codes, int(c))
	}
	if r.Backoff != nil {
		d, err := parseDuration(*r.Backoff)
		if err != nil {
			return nil, unsupported("retry.backoff: %v", err)
		}
		out.Backoff = d
	}
	return out, nil
}
