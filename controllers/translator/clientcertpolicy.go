package translator

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// ccpAttachment is one ClientCertPolicy as translated: its content, its
// targets, and where it ended up governing rules.
type ccpAttachment struct {
	policy  *v1alpha1.ClientCertPolicy
	content ccpContent
	targets []ccpTarget
	// rules counts, per Gateway, the rules this policy governs.
	rules map[types.NamespacedName]int
	// plainHTTP holds, per Gateway, the names of the HTTP listeners on
	// which this policy governs rules: requests there are rejected with
	// no_tls, which the status must say.
	plainHTTP map[types.NamespacedName]map[string]bool
}

func (a *ccpAttachment) name() string { return a.policy.Namespace + "/" + a.policy.Name }

// translateClientCertPolicies sets the client certificate requirement of
// every rule a ClientCertPolicy governs, and the policies' statuses.
//
// Policies are taken oldest first, so the first to claim a target holds
// it and every later one on the same target is Conflicted. Then each rule
// takes the requirement of the most specific policy that holds one of its
// targets (rule > route > listener > Gateway), whole: requirements are
// never merged, so what a rule asks is always what one policy says.
func (t *translator) translateClientCertPolicies() {
	holders := map[ccpKey]*ccpAttachment{}
	var all []*ccpAttachment
	for _, p := range oldestFirst(t.res.ClientCertPolicies) {
		a := &ccpAttachment{
			policy:    p,
			content:   t.resolveClientCertPolicy(p),
			rules:     map[types.NamespacedName]int{},
			plainHTTP: map[types.NamespacedName]map[string]bool{},
		}
		for _, ref := range p.Spec.TargetRefs {
			tgt := t.resolveCCPTarget(p, ref)
			if holder, held := holders[tgt.key]; tgt.notFound == "" && held && holder != a {
				tgt.conflictedBy = holder.name()
			} else if tgt.notFound == "" {
				holders[tgt.key] = a
			}
			a.targets = append(a.targets, tgt)
		}
		all = append(all, a)
	}
	t.walkRules(func(l *snapshot.Listener, r *snapshot.Route, rule *snapshot.Rule) {
		if a := governingPolicy(holders, l, r, rule); a != nil {
			a.govern(l, rule)
		}
	})
	for _, a := range all {
		t.policyStatus[nameOf(a.policy.Namespace, a.policy.Name)] = t.ccpStatus(a)
	}
}

// governingPolicy returns the policy that governs rule, reached through
// listener l, or nil. Candidates are tried from the most specific target
// to the least; the first held one wins. (For an unnamed rule the first
// candidate is the whole route, tried twice; no policy can name it.)
func governingPolicy(holders map[ccpKey]*ccpAttachment, l *snapshot.Listener, r *snapshot.Route, rule *snapshot.Rule) *ccpAttachment {
	route := nameOf(r.Namespace, r.Name)
	gw := parseGatewayName(l.Gateway)
	candidates := []ccpKey{
		{kind: "HTTPRoute", name: route, section: rule.Name},
		{kind: "HTTPRoute", name: route},
		{kind: "Gateway", name: gw, section: listenerSection(l.Gateway, l.Name)},
		{kind: "Gateway", name: gw},
	}
	for _, k := range candidates {
		if a, ok := holders[k]; ok {
			return a
		}
	}
	return nil
}

// govern sets a's requirement on rule and records where it did. The
// requirement is shared by every rule a governs: a snapshot is immutable
// once built, so sharing is safe, and it lets the data plane compile one
// policy once.
func (a *ccpAttachment) govern(l *snapshot.Listener, rule *snapshot.Rule) {
	rule.ClientCert = a.content.requirement
	gw := parseGatewayName(l.Gateway)
	a.rules[gw]++
	if l.Protocol == snapshot.ProtocolHTTP {
		if a.plainHTTP[gw] == nil {
			a.plainHTTP[gw] = map[string]bool{}
		}
		a.plainHTTP[gw][l.Name] = true
	}
}
