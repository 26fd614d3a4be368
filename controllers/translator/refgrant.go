package translator

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// groupKind names the kind of an object in a reference, for ReferenceGrant
// checks. The core group is "".
type groupKind struct {
	Group string
	Kind  string
}

// Kinds that appear on either side of certgate's references.
var (
	kindGateway   = groupKind{Group: gatewayv1.GroupName, Kind: "Gateway"}
	kindHTTPRoute = groupKind{Group: gatewayv1.GroupName, Kind: "HTTPRoute"}
	kindTLSRoute  = groupKind{Group: gatewayv1.GroupName, Kind: "TLSRoute"}
	kindGRPCRoute = groupKind{Group: gatewayv1.GroupName, Kind: "GRPCRoute"}
	kindSecret    = groupKind{Kind: "Secret"}
	kindConfigMap = groupKind{Kind: "ConfigMap"}
	kindService   = groupKind{Kind: "Service"}
)

// refAllowed reports whether an object of kind from in namespace fromNS may
// refer to the object toName of kind to in namespace toNS. A reference
// within one namespace is always allowed; across namespaces it needs a
// ReferenceGrant in toNS whose from and to entries both match. Grants are
// read on every translation, so deleting one revokes the reference at the
// next translation, as the spec requires.
func (t *translator) refAllowed(from groupKind, fromNS string, to groupKind, toNS, toName string) bool {
	if fromNS == toNS {
		return true
	}
	for _, rg := range t.res.ReferenceGrants {
		if rg.Namespace == toNS && grantsFrom(rg, from, fromNS) && grantsTo(rg, to, toName) {
			return true
		}
	}
	return false
}

func grantsFrom(rg *gatewayv1.ReferenceGrant, from groupKind, fromNS string) bool {
	for _, f := range rg.Spec.From {
		if string(f.Group) == from.Group && string(f.Kind) == from.Kind && string(f.Namespace) == fromNS {
			return true
		}
	}
	return false
}

func grantsTo(rg *gatewayv1.ReferenceGrant, to groupKind, name string) bool {
	for _, tt := range rg.Spec.To {
		if string(tt.Group) == to.Group && string(tt.Kind) == to.Kind && (tt.Name == nil || string(*tt.Name) == name) {
			return true
		}
	}
	return false
}

// refKind returns the group and kind of a reference whose group and kind
// may be unset, filling in the defaults.
func refKind(group *gatewayv1.Group, kind *gatewayv1.Kind, defaultGroup, defaultKind string) groupKind {
	gk := groupKind{Group: defaultGroup, Kind: defaultKind}
	if group != nil {
		gk.Group = string(*group)
	}
	if kind != nil {
		gk.Kind = string(*kind)
	}
	return gk
}

// refNamespace returns the namespace of a reference, defaulting to the
// referring object's.
func refNamespace(ns *gatewayv1.Namespace, local string) string {
	if ns == nil || *ns == "" {
		return local
	}
	return string(*ns)
}
