package translator

import (
	"fmt"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// routeBuild is what an HTTPRoute's spec becomes, whatever it attaches
// to: its rules, and what was wrong with them.
type routeBuild struct {
	// kind is the route's kind: HTTPRoute or GRPCRoute.
	kind  groupKind
	rules []snapshot.Rule
	// rulesGiven is set once rules belong to a listener of the snapshot
	// (rulesForListener).
	rulesGiven bool
	// obj is the HTTPRoute, whose rules the next translation may take
	// (reuse.go), id its identity and at its place in
	// Resources.HTTPRoutes; nil for other kinds.
	obj *gatewayv1.HTTPRoute
	id  identity
	at  int
	// memo, when set, holds the rules of the previous translation to
	// take; a listener the memo has none for gets obj converted.
	memo *routeMemo
	// invalid lists the rules that cannot be served as written, one
	// message each; invalidReason is the first one's Accepted reason.
	invalid       []string
	invalidReason gatewayv1.RouteConditionReason
	// total is the number of rules in the spec (or 1, the default rule).
	total int
	// refs are the backendRefs (and mirror backendRefs) that could not be
	// resolved.
	refs []refProblem
	// badHostname, when set, is why the route's hostnames are refused.
	badHostname string
}

// allInvalid reports whether no rule can be served: the route is then
// not accepted.
func (b *routeBuild) allInvalid() bool { return len(b.invalid) == b.total }

// buildRoute converts an HTTPRoute's rules. A route without rules gets the
// API's default: one rule matching every path, with no backend (500).
func (t *translator) buildRoute(r *gatewayv1.HTTPRoute) *routeBuild {
	return buildRules(kindHTTPRoute, r.Spec.Hostnames, r.Spec.Rules, func(i int, rule *gatewayv1.HTTPRouteRule, b *routeBuild) {
		t.buildRule(r.Namespace, i, rule, b)
	})
}

// buildRules checks a route's hostnames and converts each of its rules
// with build; a route without rules gets one zero rule, the default.
func buildRules[Rule any](kind groupKind, hosts []gatewayv1.Hostname, rules []Rule, build func(int, *Rule, *routeBuild)) *routeBuild {
	b := &routeBuild{kind: kind}
	b.checkHostnames(hosts)
	if len(rules) == 0 {
		rules = make([]Rule, 1)
	}
	b.rules = make([]snapshot.Rule, 0, len(rules))
	b.total = len(rules)
	for i := range rules {
		build(i, &rules[i], b)
	}
	return b
}

// checkHostnames sets badHostname for the first hostname the data plane
// cannot take.
func (b *routeBuild) checkHostnames(hosts []gatewayv1.Hostname) {
	for _, h := range hosts {
		if !validHostname(string(h)) && b.badHostname == "" {
			b.badHostname = fmt.Sprintf("hostname %q is not a lowercase DNS name or a leading-wildcard one", h)
		}
	}
}

// buildRule converts one rule into b.
//
// A rule whose matches, timeouts or retry cannot be used is dropped: it
// cannot be matched as written. A rule whose filters cannot be applied
// keeps its matches but loses its filters and backends, so it answers
// 500: the spec says an unsupported filter must not be skipped, and
// dropping the rule could let a broader rule serve requests the filter
// was meant to handle. Either way the rule counts as invalid in status.
func (t *translator) buildRule(routeNS string, i int, rule *gatewayv1.HTTPRouteRule, b *routeBuild) {
	out := snapshot.Rule{}
	if rule.Name != nil {
		out.Name = string(*rule.Name)
	}
	var err *ruleError
	if out.Matches, err = convertMatches(rule.Matches); err == nil {
		if out.Timeouts, err = convertTimeouts(rule.Timeouts); err == nil {
			out.Retry, err = convertRetry(rule.Retry)
		}
	}
	if err != nil {
		b.dropRule(i, out.Name, err, "")
		return
	}
	t.buildActions(routeNS, i, out, rule.Filters, rule.BackendRefs, b)
}

// buildActions converts a rule's filters and backendRefs into out, whose
// name and matches are set, and adds it to b.
func (t *translator) buildActions(routeNS string, i int, out snapshot.Rule, fs []gatewayv1.HTTPRouteFilter, refs []gatewayv1.HTTPBackendRef, b *routeBuild) {
	filters, problems, err := t.convertFilters(b.kind, routeNS, fs, out.Matches)
	if err == nil {
		err = backendFilters(refs)
	}
	if err != nil {
		b.dropRule(i, out.Name, err, "; requests it matches get 500")
		b.rules = append(b.rules, snapshot.Rule{Name: out.Name, Matches: out.Matches})
		return
	}
	out.Filters = filters
	b.refs = append(b.refs, problems...)
	if len(refs) > 0 {
		out.Backends = make([]snapshot.WeightedBackend, 0, len(refs))
	}
	for _, ref := range refs {
		out.Backends = append(out.Backends, t.weightedBackend(routeNS, ref.BackendRef, b))
	}
	b.rules = append(b.rules, out)
}

// dropRule records rule i as invalid.
func (b *routeBuild) dropRule(i int, name string, err *ruleError, suffix string) {
	label := fmt.Sprint(i)
	if name != "" {
		label += " (" + name + ")"
	}
	b.invalid = append(b.invalid, fmt.Sprintf("rule %s: %s%s", label, err.message, suffix))
	if b.invalidReason == "" {
		b.invalidReason = err.reason
	}
}

// backendFilters refuses filters on backendRefs: the snapshot has no place
// for them, and skipping them silently could skip a header change the
// backend relies on.
func backendFilters(refs []gatewayv1.HTTPBackendRef) *ruleError {
	for i, ref := range refs {
		if len(ref.Filters) > 0 {
			return unsupported("backendRefs[%d].filters are not supported", i)
		}
	}
	return nil
}

// weightedBackend converts one backendRef; weight defaults to 1. A
// negative weight (only possible without the CRD's validation) makes the
// backend invalid rather than the snapshot.
func (t *translator) weightedBackend(routeNS string, ref gatewayv1.BackendRef, b *routeBuild) snapshot.WeightedBackend {
	backend, p := t.resolveBackend(b.kind, routeNS, ref.BackendObjectReference)
	if p != nil {
		b.refs = append(b.refs, *p)
	}
	weight := int32(1)
	if ref.Weight != nil {
		weight = max(*ref.Weight, 0)
	}
	return snapshot.WeightedBackend{Backend: backend, Weight: weight}
}

// partialMessage is the PartiallyInvalid message; the spec requires the
// "Dropped Rule" prefix.
func (b *routeBuild) partialMessage() string {
	return "Dropped Rule(s): " + strings.Join(b.invalid, "; ")
}

// snapshotKind is the route kind the snapshot records.
func (b *routeBuild) snapshotKind() snapshot.RouteKind {
	switch b.kind {
	case kindGRPCRoute:
		return snapshot.RouteKindGRPC
	case kindTLSRoute:
		return snapshot.RouteKindTLS
	}
	return snapshot.RouteKindHTTP
}

// routeKindName is the Gateway API kind of a snapshot route.
func routeKindName(k snapshot.RouteKind) string {
	if k == snapshot.RouteKindHTTP {
		return kindHTTPRoute.Kind
	}
	return string(k)
}
