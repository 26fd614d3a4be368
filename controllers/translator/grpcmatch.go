package translator

import (
	"regexp"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// grpcContentType matches the Content-Type of a gRPC call: application/grpc,
// alone or with a "+codec" or parameters (gRPC over HTTP/2, "Requests").
// gRPC-Web's application/grpc-web does not match: it is another protocol.
const grpcContentType = `application/grpc([+;].*)?`

// anySegment stands for an unnamed service or method: one path segment.
const anySegment = `[^/]+`

// grpcCall is the match every GRPCRoute match starts from: a gRPC call is
// a POST with a gRPC content type. Requiring both keeps a GRPCRoute from
// serving plain HTTP requests that happen to use its paths; every gRPC
// rule carries the same two conditions, so they do not change the
// precedence among GRPCRoute rules.
func grpcCall() snapshot.Match {
	return snapshot.Match{
		Method:  string(gatewayv1.HTTPMethodPost),
		Headers: []snapshot.ValueMatch{{Type: snapshot.MatchRegularExpression, Name: "Content-Type", Value: grpcContentType}},
	}
}

// convertGRPCMatches converts a GRPCRoute rule's matches. A rule without
// matches matches every gRPC call, as the spec says.
func convertGRPCMatches(ms []gatewayv1.GRPCRouteMatch) ([]snapshot.Match, *ruleError) {
	if len(ms) == 0 {
		return []snapshot.Match{grpcCall()}, nil
	}
	out := make([]snapshot.Match, 0, len(ms))
	for i, m := range ms {
		sm, err := convertGRPCMatch(m)
		if err != nil {
			return nil, unsupported("matches[%d]: %s", i, err.message)
		}
		out = append(out, sm)
	}
	return out, nil
}

func convertGRPCMatch(m gatewayv1.GRPCRouteMatch) (snapshot.Match, *ruleError) {
	out := grpcCall()
	if m.Method != nil {
		p, err := grpcPath(m.Method)
		if err != nil {
			return out, unsupported("method: %s", err.message)
		}
		out.Path = p
	}
	for i, h := range m.Headers {
		vm, err := convertValue(string(h.Name), h.Value, (*string)(h.Type))
		if err != nil {
			return out, unsupported("headers[%d]: %s", i, err.message)
		}
		out.Headers = append(out.Headers, vm)
	}
	return out, nil
}

// grpcPath turns a method match into the path match of the calls it
// selects; a gRPC call's path is "/service/method".
//
//   - Exact with service and method is an Exact path, the most specific.
//   - Exact with one of them is a regular expression with the other as
//     any one segment; the longer the name, the longer the expression, so
//     a longer service wins, as the spec's precedence wants.
//   - RegularExpression places each expression (RE2, whole segment) in
//     its segment.
//
// gRPC names are case-sensitive and so are path matches.
func grpcPath(mm *gatewayv1.GRPCMethodMatch) (*snapshot.PathMatch, *ruleError) {
	service, method := deref(mm.Service), deref(mm.Method)
	if service == "" && method == "" {
		return nil, unsupported("service or method must be set")
	}
	if mm.Type != nil && *mm.Type == gatewayv1.GRPCMethodMatchRegularExpression {
		return grpcRegexPath(service, method)
	}
	if mm.Type != nil && *mm.Type != gatewayv1.GRPCMethodMatchExact {
		return nil, unsupported("type %q is not Exact or RegularExpression", *mm.Type)
	}
	if strings.Contains(service, "/") || strings.Contains(method, "/") {
		return nil, unsupported("exact service %q and method %q must not contain /", service, method)
	}
	if service != "" && method != "" {
		path := "/" + service + "/" + method
		if _, err := router.NormalizePath(path); err != nil {
			return nil, unsupported("service %q and method %q do not make a valid path: %v", service, method, err)
		}
		return &snapshot.PathMatch{Type: snapshot.PathExact, Value: path}, nil
	}
	return &snapshot.PathMatch{Type: snapshot.PathRegularExpression, Value: "/" + quoteOrAny(service) + "/" + quoteOrAny(method)}, nil
}

func grpcRegexPath(service, method string) (*snapshot.PathMatch, *ruleError) {
	expr := "/" + groupOrAny(service) + "/" + groupOrAny(method)
	if err := router.CheckRegularExpression(expr); err != nil {
		return nil, unsupported("service %q and method %q are not RE2 regular expressions certgate can match: %v", service, method, err)
	}
	return &snapshot.PathMatch{Type: snapshot.PathRegularExpression, Value: expr}, nil
}

func quoteOrAny(name string) string {
	if name == "" {
		return anySegment
	}
	return regexp.QuoteMeta(name)
}

func groupOrAny(expr string) string {
	if expr == "" {
		return anySegment
	}
	return "(?:" + expr + ")"
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
