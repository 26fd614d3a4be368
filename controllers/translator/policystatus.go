package translator

import (
	"cmp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// maxPolicyAncestors is the GEP-713 limit of PolicyStatus.ancestors. A
// policy with more ancestors reports the first ones in sorted order; the
// translation itself is not limited.
const maxPolicyAncestors = 16

// comparePolicyAge orders policies by precedence as GEP-713 and DESIGN.md
// define it: the older creationTimestamp first, then namespace/name.
func comparePolicyAge(a, b metav1.Object) int {
	ta, tb := a.GetCreationTimestamp().Time, b.GetCreationTimestamp().Time
	if !ta.Equal(tb) {
		return ta.Compare(tb)
	}
	return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
}

// oldestFirst returns a copy of policies sorted by comparePolicyAge.
func oldestFirst[P metav1.Object](policies []P) []P {
	out := slices.Clone(policies)
	slices.SortStableFunc(out, func(a, b P) int { return comparePolicyAge(a, b) })
	return out
}

// parentRef builds a ParentReference to a Gateway API object, used as a
// policy ancestorRef. sectionName is omitted when empty.
func parentRef(kind string, nn types.NamespacedName, section string) gatewayv1.ParentReference {
	group := gatewayv1.Group(gatewayv1.GroupName)
	k := gatewayv1.Kind(kind)
	ns := gatewayv1.Namespace(nn.Namespace)
	ref := gatewayv1.ParentReference{Group: &group, Kind: &k, Namespace: &ns, Name: gatewayv1.ObjectName(nn.Name)}
	if section != "" {
		s := gatewayv1.SectionName(section)
		ref.SectionName = &s
	}
	return ref
}

// gatewayRef is the ancestorRef of a Gateway: the ancestor every certgate
// policy reports on when the Gateway is known (GEP-713's recommendation).
func gatewayRef(nn types.NamespacedName) gatewayv1.ParentReference {
	return parentRef("Gateway", nn, "")
}

// parentRefKey is a comparable, sortable form of a ParentReference.
func parentRefKey(r gatewayv1.ParentReference) string {
	var kind, ns, section string
	if r.Kind != nil {
		kind = string(*r.Kind)
	}
	if r.Namespace != nil {
		ns = string(*r.Namespace)
	}
	if r.SectionName != nil {
		section = string(*r.SectionName)
	}
	return kind + "/" + ns + "/" + string(r.Name) + "/" + section
}

// sortAncestors orders ancestor statuses by kind, namespace, name and
// section, and keeps at most maxPolicyAncestors of them.
func sortAncestors(ancestors []gatewayv1.PolicyAncestorStatus) []gatewayv1.PolicyAncestorStatus {
	slices.SortFunc(ancestors, func(a, b gatewayv1.PolicyAncestorStatus) int {
		return cmp.Compare(parentRefKey(a.AncestorRef), parentRefKey(b.AncestorRef))
	})
	if len(ancestors) > maxPolicyAncestors {
		ancestors = ancestors[:maxPolicyAncestors]
	}
	return ancestors
}

// newAncestor starts the status of a policy for one ancestor, written by
// this controller.
func (t *translator) newAncestor(ref gatewayv1.ParentReference) gatewayv1.PolicyAncestorStatus {
	return gatewayv1.PolicyAncestorStatus{AncestorRef: ref, ControllerName: t.opts.ControllerName}
}

// acceptedGateways maps the Gateways the gateway stage accepted by name.
func (t *translator) acceptedGateways() map[types.NamespacedName]bool {
	out := make(map[types.NamespacedName]bool, len(t.gateways))
	for _, gw := range t.gateways {
		out[nameOf(gw.Namespace, gw.Name)] = true
	}
	return out
}

// joinMessages joins condition message parts with "; ", skipping empty
// ones.
func joinMessages(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), "; ")
}
