package dataplane

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/filter"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// routeConfig is one compiled route on one listener.
type routeConfig struct {
	// id is "namespace/name" ("namespace/GRPCRoute/name" for a GRPCRoute),
	// as the access log shows it.
	id       string
	recorder *metrics.RouteRecorder
	rules    []*ruleConfig
}

// ruleConfig is one compiled rule: everything a request that matched it
// needs, resolved once per snapshot.
type ruleConfig struct {
	label       string
	filters     *filter.Chain
	requirement *clientcert.Requirement
	// counters are set with requirement: most rules have none, and a
	// compiled rule is kept for every rule of the configuration.
	counters *certCounters
	backends *backendSet
	mirrors  []*mirrorTarget
	timeouts snapshot.Timeouts
	// direct is set when the rule's simple requests may take the direct
	// path (takesDirect).
	direct bool
}

func (d *Dataplane) compileRoute(l *snapshot.Listener, r *snapshot.Route) (*routeConfig, error) {
	rc := &routeConfig{
		id:       r.ID(),
		recorder: d.opts.Metrics.Route(l.Gateway, r.Namespace, r.Label()),
		rules:    make([]*ruleConfig, 0, len(r.Rules)),
	}
	for i := range r.Rules {
		rule, err := d.compileRule(l, r, i)
		if err != nil {
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
		rc.rules = append(rc.rules, rule)
	}
	return rc, nil
}

// certCounters are a rule's client certificate counters, looked up once
// at compile so a request only increments them.
type certCounters struct {
	verified prometheus.Counter
	rejected map[clientcert.Reason]prometheus.Counter
	// retiring counts passes on a retiring pin; each also counts as
	// verified.
	retiring prometheus.Counter
}

func (d *Dataplane) compileRule(l *snapshot.Listener, r *snapshot.Route, index int) (*ruleConfig, error) {
	rule := &r.Rules[index]
	chain, err := filter.Compile(rule.Filters)
	if err != nil {
		return nil, err
	}
	rc := &ruleConfig{
		label:    rule.Label(index),
		filters:  chain,
		timeouts: rule.Timeouts,
	}
	d.compileRequirement(rc, r, rule)
	if rc.backends, err = d.backendsOf(rule); err != nil {
		return nil, err
	}
	for i, m := range chain.Mirrors() {
		target, err := d.compileMirror(m)
		if err != nil {
			return nil, fmt.Errorf("filters: mirror[%d]: %w", i, err)
		}
		rc.mirrors = append(rc.mirrors, target)
	}
	rc.direct = takesDirect(rc)
	return rc, nil
}

// compileRequirement compiles a rule's client certificate requirement and
// looks up its counters, labelled with the route's Label so that a
// TLSRoute and an HTTPRoute of one name count apart.
func (d *Dataplane) compileRequirement(rc *ruleConfig, r *snapshot.Route, rule *snapshot.Rule) {
	if rule.ClientCert == nil {
		return
	}
	route := r.Label()
	rc.requirement = clientcert.Compile(rule.ClientCert)
	if problem := rc.requirement.Problem(); problem != "" {
		d.log.Warn("client certificate requirement cannot be used; its routes reject every client until it is fixed",
			"policy", rule.ClientCert.Policy, "route", r.ID(), "rule", rc.label, "problem", problem)
	}
	m := d.opts.Metrics
	rc.counters = &certCounters{
		verified: m.ClientCertVerified.WithLabelValues(r.Namespace, route, rc.label),
		retiring: m.ClientCertRetiringPinPasses.WithLabelValues(r.Namespace, route, rc.label),
		rejected: map[clientcert.Reason]prometheus.Counter{},
	}
	mode := strings.ToLower(string(rc.requirement.Mode()))
	for _, reason := range clientcert.Reasons() {
		rc.counters.rejected[reason] = m.ClientCertRejections.WithLabelValues(r.Namespace, route, rc.label, string(reason), mode)
	}
}

// judge judges peer against the rule's requirement, which must be set,
// and counts the verdict: verified (a pass on a retiring pin counted too)
// or rejected with its reason. It returns the reason, "" for a pass.
func (rc *ruleConfig) judge(peer *clientcert.Peer, now time.Time) clientcert.Reason {
	verdict := rc.requirement.Judge(peer, now)
	if verdict.Reason == "" {
		rc.counters.verified.Inc()
		if verdict.Retiring {
			rc.counters.retiring.Inc()
		}
		return ""
	}
	rc.counters.rejected[verdict.Reason].Inc()
	return verdict.Reason
}

// admits reports whether the rule lets peer through now, without
// counting: an open tunnel judged again. Audit mode lets everyone through.
func (rc *ruleConfig) admits(peer *clientcert.Peer, now time.Time) bool {
	req := rc.requirement
	return req == nil || req.Mode() == snapshot.ModeAudit || req.Check(peer, now) == ""
}
