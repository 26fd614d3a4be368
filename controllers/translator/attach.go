package translator

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// attachment is a route attached to one listener, with its hostnames on
// that listener.
type attachment struct {
	l         *listenerState
	hostnames []string
}

// parentResult is what one parentRef of a route comes to: the listeners
// it attaches to, or, when rejected has a reason, the Accepted reason and
// message it does not.
type parentResult struct {
	attached []attachment
	rejected problem[gatewayv1.RouteConditionReason]
}

// rejectedParent is a parentRef that attaches to no listener, for reason.
func rejectedParent(reason gatewayv1.RouteConditionReason, message string) parentResult {
	return parentResult{rejected: problem[gatewayv1.RouteConditionReason]{reason: reason, message: message}}
}

// routeHead is what attaching a route reads of it, whatever its kind:
// the kind, the metadata, the parentRefs and the hostnames. The rules are
// each kind's own (routeBuild).
type routeHead struct {
	kind      groupKind
	meta      *metav1.ObjectMeta
	parents   []gatewayv1.ParentReference
	hostnames []gatewayv1.Hostname
}

func httpRouteHead(r *gatewayv1.HTTPRoute) routeHead {
	return routeHead{kindHTTPRoute, &r.ObjectMeta, r.Spec.ParentRefs, r.Spec.Hostnames}
}

func grpcRouteHead(r *gatewayv1.GRPCRoute) routeHead {
	return routeHead{kindGRPCRoute, &r.ObjectMeta, r.Spec.ParentRefs, r.Spec.Hostnames}
}

func tlsRouteHead(r *gatewayv1.TLSRoute) routeHead {
	return routeHead{kindTLSRoute, &r.ObjectMeta, r.Spec.ParentRefs, r.Spec.Hostnames}
}

// gatewayOf returns the listeners of the Gateway a parentRef names, when
// it is a Gateway of ours. Other parents (other controllers' Gateways,
// Services, unknown kinds, missing Gateways) are not ours to report on.
func (t *translator) gatewayOf(routeNS string, ref gatewayv1.ParentReference) ([]*listenerState, bool) {
	if refKind(ref.Group, ref.Kind, gatewayv1.GroupName, "Gateway") != kindGateway {
		return nil, false
	}
	ls, ok := t.listeners[nameOf(refNamespace(ref.Namespace, routeNS), string(ref.Name))]
	return ls, ok
}

// attach finds the listeners of a Gateway that a route's parentRef
// attaches to. The tests run from the most basic to the most specific,
// and the first that leaves no listener gives the reason:
//
//  1. sectionName and port select listeners (NoMatchingParent);
//  2. their allowedRoutes must admit the route's namespace and kind
//     (NotAllowedByListeners);
//  3. their hostnames must intersect the route's
//     (NoMatchingListenerHostname).
func (t *translator) attach(r routeHead, ref gatewayv1.ParentReference, ls []*listenerState) parentResult {
	var selected, allowed []*listenerState
	for _, l := range ls {
		if (ref.SectionName == nil || *ref.SectionName == l.spec.Name) && (ref.Port == nil || *ref.Port == l.spec.Port) {
			selected = append(selected, l)
		}
	}
	if len(selected) == 0 {
		return rejectedParent(gatewayv1.RouteReasonNoMatchingParent, "no listener of the Gateway matches the parentRef's sectionName and port")
	}
	for _, l := range selected {
		if l.allows(r.kind) && t.namespaceAllowed(l, r.meta.Namespace) {
			allowed = append(allowed, l)
		}
	}
	if len(allowed) == 0 {
		return rejectedParent(gatewayv1.RouteReasonNotAllowedByListeners, fmt.Sprintf("no selected listener allows %ss from namespace %s", r.kind.Kind, r.meta.Namespace))
	}
	var res parentResult
	hosts := make([]string, len(r.hostnames))
	for i, h := range r.hostnames {
		hosts[i] = string(h)
	}
	for _, l := range allowed {
		if got, ok := routeHostnames(l.hostname(), hosts); ok {
			res.attached = append(res.attached, attachment{l: l, hostnames: got})
		}
	}
	if len(res.attached) == 0 {
		return rejectedParent(gatewayv1.RouteReasonNoMatchingListenerHostname, "no selected listener's hostname intersects the route's hostnames")
	}
	return res
}

// namespaceAllowed applies a listener's allowedRoutes.namespaces to a
// route's namespace; the default is Same.
func (t *translator) namespaceAllowed(l *listenerState, ns string) bool {
	from := gatewayv1.NamespacesFromSame
	var sel *metav1.LabelSelector
	if ar := l.spec.AllowedRoutes; ar != nil && ar.Namespaces != nil {
		if ar.Namespaces.From != nil {
			from = *ar.Namespaces.From
		}
		sel = ar.Namespaces.Selector
	}
	switch from {
	case gatewayv1.NamespacesFromAll:
		return true
	case gatewayv1.NamespacesFromSame:
		return ns == l.gw.Namespace
	case gatewayv1.NamespacesFromSelector:
		return sel != nil && t.namespaceSelected(sel, ns)
	}
	return false
}

// namespaceSelected matches a namespace's labels against a selector. A
// namespace always carries kubernetes.io/metadata.name (the API server
// sets it), so it is added here for namespaces the source did not list,
// as the file provider may not. A selector that does not parse selects
// nothing.
func (t *translator) namespaceSelected(sel *metav1.LabelSelector, ns string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	set := labels.Set{corev1.LabelMetadataName: ns}
	if n := t.idx.namespaces[ns]; n != nil {
		for k, v := range n.Labels {
			set[k] = v
		}
	}
	return s.Matches(set)
}
