package translator

import (
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// btlsKey identifies what a BackendTLSPolicy targetRef selects: a Service,
// or one of its ports by name. Two policies with the same key conflict; a
// policy on a port is more specific than one on the whole Service, and
// both are Accepted (the conformance test BackendTLSPolicyConflictResolution
// expects exactly that).
type btlsKey struct {
	service types.NamespacedName
	section string
}

// btlsAttachment is one BackendTLSPolicy as translated.
type btlsAttachment struct {
	policy  *gatewayv1.BackendTLSPolicy
	content btlsContent
	// conflictedBy maps each target this policy lost to the older policy
	// that holds it.
	conflictedBy map[btlsKey]string
	// reached maps each Gateway whose routes use a targeted backend (the
	// policy's status ancestors) to the targets reached through it.
	reached map[types.NamespacedName]map[btlsKey]bool
}

func (a *btlsAttachment) name() string { return a.policy.Namespace + "/" + a.policy.Name }

// translateBackendTLS makes backends TLS as BackendTLSPolicies say, adds
// the client certificates the gateway presents to them, and writes the
// policies' statuses and the Gateways' ResolvedRefs for their backend
// client certificate.
//
// It walks backends, not policies: every rule and mirror backend in the
// snapshot is its own copy, so each gets its own BackendTLS, and the
// client certificate can differ per Gateway for the same Service.
func (t *translator) translateBackendTLS() {
	holders, byKey, all := t.claimBackendTLSTargets()
	t.eachBackend(func(ls *listenerState, r *snapshot.Route, b *snapshot.Backend) {
		if b.Invalid != "" {
			return // already answers 500; nothing to connect to
		}
		var buf [2]btlsKey // most backends have one or two keys: no allocation each
		keys := t.backendKeys(buf[:0], b)
		gw := ls.gatewayName()
		rec := t.freshMemo(r)
		for _, k := range keys {
			for _, a := range byKey[k] {
				a.reach(gw, k)
			}
			if rec != nil && len(byKey[k]) > 0 {
				rec.reaches = append(rec.reaches, btlsReach{gw: gw, key: k})
			}
		}
		for _, k := range keys {
			if a, ok := holders[k]; ok {
				a.apply(b)
				return
			}
		}
	})
	// Taken rules reach what they reached when they were converted: the
	// policies and Services are the same objects.
	t.eachTaken(func(_ *listenerState, _ *snapshot.Route, lm *listenerMemo) {
		for _, r := range lm.reaches {
			for _, a := range byKey[r.key] {
				a.reach(r.gw, r.key)
			}
		}
	})
	t.applyGatewayClientCertificates()
	for _, a := range all {
		if len(a.reached) > 0 {
			t.btlsStatus[nameOf(a.policy.Namespace, a.policy.Name)] = t.btlsStatusOf(a)
		}
	}
}

// claimBackendTLSTargets resolves every policy and gives each target to
// its oldest policy (creationTimestamp, then namespace/name, as the spec
// says). Targets other than core Services are not ones certgate applies
// policies to; they are ignored.
func (t *translator) claimBackendTLSTargets() (holders map[btlsKey]*btlsAttachment, byKey map[btlsKey][]*btlsAttachment, all []*btlsAttachment) {
	holders, byKey = map[btlsKey]*btlsAttachment{}, map[btlsKey][]*btlsAttachment{}
	for _, p := range oldestFirst(t.res.BackendTLSPolicies) {
		a := &btlsAttachment{
			policy:       p,
			content:      t.resolveBackendTLSPolicy(p),
			conflictedBy: map[btlsKey]string{},
			reached:      map[types.NamespacedName]map[btlsKey]bool{},
		}
		for _, ref := range p.Spec.TargetRefs {
			if ref.Group != "" || ref.Kind != "Service" {
				continue
			}
			k := btlsKey{service: nameOf(p.Namespace, string(ref.Name))}
			if ref.SectionName != nil {
				k.section = string(*ref.SectionName)
			}
			byKey[k] = append(byKey[k], a)
			if holder, held := holders[k]; held && holder != a {
				a.conflictedBy[k] = holder.name()
			} else {
				holders[k] = a
			}
		}
		all = append(all, a)
	}
	return holders, byKey, all
}

// backendKeys appends to dst the targets that select backend b, most specific
// first: its Service port by name, when the port has one, then the
// Service.
func (t *translator) backendKeys(dst []btlsKey, b *snapshot.Backend) []btlsKey {
	svc := nameOf(b.Namespace, b.Service)
	whole := btlsKey{service: svc}
	if s, ok := t.idx.services[svc]; ok {
		for _, p := range s.Spec.Ports {
			if p.Port == b.Port && p.Name != "" {
				return append(dst, btlsKey{service: svc, section: p.Name}, whole)
			}
		}
	}
	return append(dst, whole)
}

func (a *btlsAttachment) reach(gw types.NamespacedName, k btlsKey) {
	if a.reached[gw] == nil {
		a.reached[gw] = map[btlsKey]bool{}
	}
	a.reached[gw][k] = true
}

// apply sets the policy's TLS on backend b, a copy of its own. An unusable
// policy fails closed twice over: Invalid makes the data plane answer 500
// without connecting (the conformance tests want a 5xx), and the TLS left
// behind has no trust anchors, so even a data plane that ignored Invalid
// could not complete a handshake. Falling back to plaintext is never an
// option: the author asked for TLS.
func (a *btlsAttachment) apply(b *snapshot.Backend) {
	if len(a.content.invalid) > 0 {
		b.TLS = &snapshot.BackendTLS{ServerName: a.content.tls.ServerName}
		b.Invalid = fmt.Sprintf("BackendTLSPolicy %s: %s", a.name(), joinMessages(a.content.invalid...))
		return
	}
	tls := a.content.tls
	b.TLS = &tls
}
