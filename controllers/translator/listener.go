package translator

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// listenerState is one Gateway listener while it is translated: what was
// found wrong with it, and where it went in the snapshot. The route stage
// reads it to attach routes.
type listenerState struct {
	gw   *gatewayv1.Gateway
	spec *gatewayv1.Listener
	// status points into the Gateway's status.listeners.
	status *gatewayv1.ListenerStatus
	// kinds are the route kinds the listener accepts (HTTPRoute or none).
	kinds []gatewayv1.RouteGroupKind
	// Each problem, once found, is a condition reason and message; an
	// empty reason means none.
	notAccepted, unresolved, conflict listenerProblem
	// tls is the listener's TLS config, for HTTPS listeners with at least
	// one usable certificate.
	tls *snapshot.ListenerTLS
	// snap is the index of the listener in snapshot.Listeners, or -1.
	snap int
	// portPending, when set, says why a servable listener is not bound
	// yet: its Gateway's Service does not map its port.
	portPending string
}

// name is the listener's snapshot name, "namespace/gateway/listener".
func (l *listenerState) name() string {
	return l.gw.Namespace + "/" + l.gw.Name + "/" + string(l.spec.Name)
}

// hostname is the listener's hostname, "" for any.
func (l *listenerState) hostname() string {
	if l.spec.Hostname == nil {
		return ""
	}
	return string(*l.spec.Hostname)
}

func (l *listenerState) reject(reason gatewayv1.ListenerConditionReason, format string, args ...any) {
	if l.notAccepted.reason == "" {
		l.notAccepted = listenerProblem{reason: reason, message: fmt.Sprintf(format, args...)}
	}
}

func (l *listenerState) unresolve(reason gatewayv1.ListenerConditionReason, format string, args ...any) {
	if l.unresolved.reason == "" {
		l.unresolved = listenerProblem{reason: reason, message: fmt.Sprintf(format, args...)}
	}
}

func (l *listenerState) conflicts(reason gatewayv1.ListenerConditionReason, format string, args ...any) {
	if l.conflict.reason == "" {
		l.conflict = listenerProblem{reason: reason, message: fmt.Sprintf(format, args...)}
	}
}

// servable reports whether the listener can be programmed: accepted, not
// conflicted, with a route kind to serve and, for HTTPS, a certificate.
func (l *listenerState) servable() bool {
	if l.notAccepted.reason != "" || l.conflict.reason != "" || len(l.kinds) == 0 {
		return false
	}
	return l.spec.Protocol == gatewayv1.HTTPProtocolType || l.passthrough() || l.tls != nil
}

// passthrough reports whether l is a TLS listener in mode Passthrough.
func (l *listenerState) passthrough() bool {
	return l.spec.Protocol == gatewayv1.TLSProtocolType && l.spec.TLS != nil && l.spec.TLS.Mode != nil && *l.spec.TLS.Mode == gatewayv1.TLSModePassthrough
}

// tlsMode is the snapshot mode of a TLS listener, empty for the others.
func (l *listenerState) tlsMode() snapshot.TLSMode {
	switch {
	case l.spec.Protocol != gatewayv1.TLSProtocolType:
		return ""
	case l.passthrough():
		return snapshot.TLSPassthrough
	}
	return snapshot.TLSTerminate
}

// supported reports whether the listener's protocol is one certgate
// serves; listeners of other protocols take no part in conflicts.
func (l *listenerState) supported() bool {
	switch l.spec.Protocol {
	case gatewayv1.HTTPProtocolType, gatewayv1.HTTPSProtocolType, gatewayv1.TLSProtocolType:
		return true
	}
	return false
}

// servedKinds are the route kinds a listener of l's protocol serves:
// TLSRoute on TLS listeners, HTTPRoute and GRPCRoute on the others.
func (l *listenerState) servedKinds() []groupKind {
	if l.spec.Protocol == gatewayv1.TLSProtocolType {
		return []groupKind{kindTLSRoute}
	}
	return []groupKind{kindHTTPRoute, kindGRPCRoute}
}

// checkBasics validates what a listener needs whatever its protocol: a
// protocol certgate serves, a port, a hostname the data plane accepts, and
// the route kinds it allows.
func (l *listenerState) checkBasics() {
	if !l.supported() {
		l.reject(gatewayv1.ListenerReasonUnsupportedProtocol, "protocol %q is not supported: certgate serves HTTP, HTTPS and TLS", l.spec.Protocol)
	}
	if l.spec.Port < 1 || l.spec.Port > 65535 {
		l.reject(gatewayv1.ListenerReasonPortUnavailable, "port %d is not between 1 and 65535", l.spec.Port)
	}
	if h := l.hostname(); h != "" && !validHostname(h) {
		l.reject(gatewayv1.ListenerReasonUnsupportedValue, "hostname %q is not a lowercase DNS name or a leading-wildcard one", h)
	}
	l.checkKinds()
}

// checkKinds keeps the allowed route kinds certgate serves: HTTPRoute and
// GRPCRoute on HTTP and HTTPS listeners, TLSRoute on TLS ones. With none
// given, the protocol decides. Unsupported kinds are left out of
// supportedKinds and make ResolvedRefs false (InvalidRouteKinds), as the
// spec requires.
func (l *listenerState) checkKinds() {
	l.kinds = []gatewayv1.RouteGroupKind{}
	if !l.supported() {
		return
	}
	served := l.servedKinds()
	if l.spec.AllowedRoutes == nil || len(l.spec.AllowedRoutes.Kinds) == 0 {
		for _, gk := range served {
			l.kinds = append(l.kinds, routeGroupKind(gk))
		}
		return
	}
	for _, k := range l.spec.AllowedRoutes.Kinds {
		gk := refKind(k.Group, &k.Kind, gatewayv1.GroupName, "")
		if !slices.Contains(served, gk) {
			l.unresolve(gatewayv1.ListenerReasonInvalidRouteKinds, "route kind %s is not supported on a %s listener: certgate serves %s there", k.Kind, l.spec.Protocol, kindNames(served))
			continue
		}
		if !l.allows(gk) {
			l.kinds = append(l.kinds, routeGroupKind(gk))
		}
	}
}

// kindNames lists the kinds' names for a message: "HTTPRoute and GRPCRoute".
func kindNames(kinds []groupKind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Kind
	}
	return strings.Join(names, " and ")
}

// allows reports whether the listener takes routes of kind gk.
func (l *listenerState) allows(gk groupKind) bool {
	for _, k := range l.kinds {
		if string(k.Kind) == gk.Kind {
			return true
		}
	}
	return false
}

// routeGroupKind is gk as listener status names it.
func routeGroupKind(gk groupKind) gatewayv1.RouteGroupKind {
	return gatewayv1.RouteGroupKind{Group: ptrTo(gatewayv1.Group(gk.Group)), Kind: gatewayv1.Kind(gk.Kind)}
}

// writeStatus sets the listener's conditions from what was found.
func (t *translator) writeListenerStatus(l *listenerState, addr gatewayAddr) {
	gen, conds := l.gw.Generation, &l.status.Conditions
	l.status.SupportedKinds = l.kinds
	if l.notAccepted.reason != "" {
		setCondition(t, conds, gen, gatewayv1.ListenerConditionAccepted, metav1.ConditionFalse, l.notAccepted.reason, l.notAccepted.message)
	} else if l.conflict.reason != "" {
		setCondition(t, conds, gen, gatewayv1.ListenerConditionAccepted, metav1.ConditionFalse, l.conflict.reason, l.conflict.message)
	} else {
		setCondition(t, conds, gen, gatewayv1.ListenerConditionAccepted, metav1.ConditionTrue, gatewayv1.ListenerReasonAccepted, "listener is valid")
	}
	switch {
	case l.snap >= 0:
		setCondition(t, conds, gen, gatewayv1.ListenerConditionProgrammed, metav1.ConditionTrue, gatewayv1.ListenerReasonProgrammed, "listener is in the snapshot")
	case l.servable() && !addr.ready() && addr.notProgrammed.reason == gatewayv1.GatewayReasonPending:
		setCondition(t, conds, gen, gatewayv1.ListenerConditionProgrammed, metav1.ConditionFalse, gatewayv1.ListenerReasonPending, "the Gateway is "+addr.notProgrammed.message)
	case l.servable() && !addr.ready():
		setCondition(t, conds, gen, gatewayv1.ListenerConditionProgrammed, metav1.ConditionFalse, gatewayv1.ListenerReasonPending, "the Gateway has no address to bind")
	case l.servable() && l.portPending != "":
		setCondition(t, conds, gen, gatewayv1.ListenerConditionProgrammed, metav1.ConditionFalse, gatewayv1.ListenerReasonPending, l.portPending)
	default:
		setCondition(t, conds, gen, gatewayv1.ListenerConditionProgrammed, metav1.ConditionFalse, gatewayv1.ListenerReasonInvalid, l.programmedMessage())
	}
	if l.unresolved.reason != "" {
		setCondition(t, conds, gen, gatewayv1.ListenerConditionResolvedRefs, metav1.ConditionFalse, l.unresolved.reason, l.unresolved.message)
	} else {
		setCondition(t, conds, gen, gatewayv1.ListenerConditionResolvedRefs, metav1.ConditionTrue, gatewayv1.ListenerReasonResolvedRefs, "all references resolved")
	}
	if l.conflict.reason != "" {
		setCondition(t, conds, gen, gatewayv1.ListenerConditionConflicted, metav1.ConditionTrue, l.conflict.reason, l.conflict.message)
	} else {
		setCondition(t, conds, gen, gatewayv1.ListenerConditionConflicted, metav1.ConditionFalse, gatewayv1.ListenerReasonNoConflicts, "no conflicts")
	}
}

// programmedMessage says why a listener is not in the snapshot.
func (l *listenerState) programmedMessage() string {
	switch {
	case l.notAccepted.reason != "":
		return "listener is not accepted: " + l.notAccepted.message
	case l.conflict.reason != "":
		return "listener is conflicted: " + l.conflict.message
	case len(l.kinds) == 0:
		return "listener allows no route kind certgate serves"
	default:
		return "listener has no usable TLS certificate: " + l.unresolved.message
	}
}

func ptrTo[T any](v T) *T { return &v }
