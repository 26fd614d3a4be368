package translator

import (
	"cmp"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

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
	// passthrough holds, per Gateway, the Passthrough listeners on which
	// this policy would govern TLSRoutes but cannot: nothing there is
	// terminated, so nothing can be judged (see govern).
	passthrough map[types.NamespacedName]map[string]bool
}

func (a *ccpAttachment) name() string { return a.policy.Namespace + "/" + a.policy.Name }

// translateClientCertPolicies sets the client certificate requirement of
// every rule a ClientCertPolicy governs, and the policies' statuses.
//
// Policies are taken in precedence order (see byPrecedence), so the first
// to claim a target holds it and every later one on the same target is
// Conflicted. Then each rule takes the requirement of the most specific
// policy that holds one of its targets (rule > route > listener >
// Gateway), whole: requirements are never merged, so what a rule asks is
// always what one policy says.
func (t *translator) translateClientCertPolicies() {
	holders := map[ccpKey]*ccpAttachment{}
	all := t.resolveClientCertPolicies()
	for _, a := range all {
		for _, ref := range a.policy.Spec.TargetRefs {
			tgt := t.resolveCCPTarget(a.policy, ref)
			if holder, held := holders[tgt.key]; tgt.notFound == "" && held && holder != a {
				tgt.conflictedBy = holder.name()
				tgt.decidedBy = decidingRule(holder, a)
			} else if tgt.notFound == "" {
				holders[tgt.key] = a
			}
			a.targets = append(a.targets, tgt)
		}
	}
	t.eachRule(func(ls *listenerState, r *snapshot.Route, rule *snapshot.Rule) {
		if a := governingPolicy(holders, ls, r, rule); a != nil {
			a.govern(ls, rule)
		}
	})
	t.eachTaken(func(ls *listenerState, r *snapshot.Route, lm *listenerMemo) {
		for i := range lm.rules {
			t.accountTaken(holders, ls, r, &lm.rules[i])
		}
	})
	for _, a := range all {
		t.policyStatus[nameOf(a.policy.Namespace, a.policy.Name)] = t.ccpStatus(a)
	}
}

// resolveClientCertPolicies resolves every policy's content and returns
// the policies in precedence order.
func (t *translator) resolveClientCertPolicies() []*ccpAttachment {
	all := make([]*ccpAttachment, 0, len(t.res.ClientCertPolicies))
	for _, p := range t.res.ClientCertPolicies {
		all = append(all, &ccpAttachment{
			policy:      p,
			content:     t.policyContent(p),
			rules:       map[types.NamespacedName]int{},
			plainHTTP:   map[types.NamespacedName]map[string]bool{},
			passthrough: map[types.NamespacedName]map[string]bool{},
		})
	}
	slices.SortStableFunc(all, byPrecedence)
	return all
}

// byPrecedence orders two policies on the same target, the winner first.
// An Enforce policy beats an Audit one whatever their ages and whether or
// not either is valid: otherwise an Audit policy (a dry run, or a broken
// one, which passes every request) could win the conflict and open a
// route that an Enforce policy pins. A conflict must never weaken
// enforcement. Between two of the same mode the older wins (GEP-713).
// The mode compared is the one the data plane applies, so a misspelt
// mode, which is enforced, counts as Enforce here too.
func byPrecedence(a, b *ccpAttachment) int {
	return cmp.Or(cmp.Compare(modeRank(a), modeRank(b)), comparePolicyAge(a.policy, b.policy))
}

func modeRank(a *ccpAttachment) int {
	if a.content.requirement.Mode == snapshot.ModeAudit {
		return 1
	}
	return 0
}

// decidingRule names the rule of byPrecedence by which winner beat loser,
// for the loser's Conflicted message.
func decidingRule(winner, loser *ccpAttachment) string {
	wt, lt := winner.policy.CreationTimestamp, loser.policy.CreationTimestamp
	switch {
	case modeRank(winner) != modeRank(loser):
		return "Enforce wins over Audit"
	case !wt.Equal(&lt):
		return "older creationTimestamp"
	}
	return "same creationTimestamp, name sorts first"
}

// governingPolicy returns the policy that governs rule, reached through
// listener l, or nil. Candidates are tried from the most specific target
// to the least; the first held one wins. (For an unnamed rule the first
// candidate is the whole route, tried twice; no policy can name it.)
func governingPolicy(holders map[ccpKey]*ccpAttachment, ls *listenerState, r *snapshot.Route, rule *snapshot.Rule) *ccpAttachment {
	if len(holders) == 0 {
		return nil // no policy: nothing to look up for each of thousands of rules
	}
	route, kind := nameOf(r.Namespace, r.Name), routeKindName(r.Kind)
	gw := ls.gatewayName()
	candidates := []ccpKey{
		{kind: kind, name: route, section: rule.Name},
		{kind: kind, name: route},
		{kind: "Gateway", name: gw, section: string(ls.spec.Name)},
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
//
// A Passthrough listener's rules are left without the requirement: the
// client's TLS goes to the backend untouched, so the gateway never sees a
// client certificate to judge. Rejecting every connection instead would
// turn a policy into a switch that closes a route it cannot judge; leaving
// the connection as it was opens nothing the policy's absence kept closed.
// The policy's status says it is not applied there.
func (a *ccpAttachment) govern(ls *listenerState, rule *snapshot.Rule) {
	if a.account(ls) {
		rule.ClientCert = a.content.requirement
	}
}

// accountTaken accounts for a rule taken from the previous translation
// as govern would, without writing to it, and checks that it carries what
// this translation gives it: the governing policy's requirement (the same
// object, see checkRequirement), or none. A rule that does not makes the
// translation start again without reuse.
func (t *translator) accountTaken(holders map[ccpKey]*ccpAttachment, ls *listenerState, r *snapshot.Route, rule *snapshot.Rule) {
	var want *snapshot.Requirement
	if a := governingPolicy(holders, ls, r, rule); a != nil && a.account(ls) {
		want = a.content.requirement
	}
	if rule.ClientCert != want {
		t.reuseFailed = true
	}
}

// account records that a governs a rule on ls, and reports whether the
// rule takes its requirement: not on a Passthrough listener.
func (a *ccpAttachment) account(ls *listenerState) bool {
	gw := ls.gatewayName()
	if ls.passthrough() {
		if a.passthrough[gw] == nil {
			a.passthrough[gw] = map[string]bool{}
		}
		a.passthrough[gw][ls.name()] = true
		return false
	}
	a.rules[gw]++
	if ls.spec.Protocol == gatewayv1.HTTPProtocolType {
		if a.plainHTTP[gw] == nil {
			a.plainHTTP[gw] = map[string]bool{}
		}
		a.plainHTTP[gw][ls.name()] = true
	}
	return true
}
