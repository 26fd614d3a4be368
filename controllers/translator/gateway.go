package translator

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// translateGateways turns the listeners of every Gateway of an accepted
// class into snapshot listeners, and writes the Gateways' status.
//
// Gateways are handled oldest first (creationTimestamp, then namespace and
// name) because they may share a socket: when a newer Gateway's listener
// conflicts with an older one's on the same address and port, the newer
// one is marked Conflicted, so creating a Gateway can never take traffic
// away from one that already serves.
func (t *translator) translateGateways() {
	for _, gw := range t.res.Gateways {
		if _, ok := t.classes[string(gw.Spec.GatewayClassName)]; ok {
			t.gateways = append(t.gateways, gw)
		}
	}
	slices.SortStableFunc(t.gateways, func(a, b *gatewayv1.Gateway) int {
		return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
	})
	sockets := socketTable{}
	for _, gw := range t.gateways {
		t.translateGateway(gw, sockets)
	}
}

// translateGateway builds one Gateway's listeners and status.
func (t *translator) translateGateway(gw *gatewayv1.Gateway, sockets socketTable) {
	st := &gatewayv1.GatewayStatus{Listeners: make([]gatewayv1.ListenerStatus, len(gw.Spec.Listeners))}
	t.gwStatus[nameOf(gw.Namespace, gw.Name)] = st
	addr := t.gatewayAddress(gw)
	exposure, exposed := t.gatewayExposure(gw, &addr)
	ls := make([]*listenerState, len(gw.Spec.Listeners))
	for i := range gw.Spec.Listeners {
		st.Listeners[i].Name = gw.Spec.Listeners[i].Name
		l := &listenerState{gw: gw, spec: &gw.Spec.Listeners[i], status: &st.Listeners[i], snap: -1}
		l.checkBasics()
		t.resolveListenerTLS(l)
		ls[i] = l
	}
	insecure := t.applyFrontendValidation(gw, ls)
	markConflicts(ls)
	for _, l := range ls {
		port, bindable := l.spec.Port, addr.ready() && l.servable()
		if bindable && exposed {
			port, bindable = exposure.ports[l.spec.Port]
			if !bindable {
				l.portPending = fmt.Sprintf("port %d has no container port in the Gateway's Service yet", l.spec.Port)
			}
		}
		if bindable && sockets.claim(l, addr.value, port) {
			l.snap = len(t.snapshot.Listeners)
			t.snapshot.Listeners = append(t.snapshot.Listeners, snapshot.Listener{
				Name: l.name(), Gateway: gw.Namespace + "/" + gw.Name, Address: addr.value,
				Port: port, Protocol: snapshot.Protocol(l.spec.Protocol), TLSMode: l.tlsMode(), Hostname: l.hostname(), TLS: l.tls,
			})
			if port != l.spec.Port {
				t.snapshot.Listeners[l.snap].PublicPort = l.spec.Port
			}
		}
	}
	for _, l := range ls {
		t.writeListenerStatus(l, addr)
	}
	t.listeners[nameOf(gw.Namespace, gw.Name)] = ls
	switch {
	case exposed:
		st.Addresses = exposure.addresses
	case addr.value != "":
		st.Addresses = []gatewayv1.GatewayStatusAddress{{Type: ptrTo(gatewayv1.IPAddressType), Value: addr.value}}
	}
	t.writeGatewayConditions(gw, st, ls, addr, insecure)
}

// writeGatewayConditions sets Accepted, Programmed, ResolvedRefs and
// InsecureFrontendValidationMode on a Gateway.
//
// ResolvedRefs here summarises the listeners; the backend TLS stage,
// which resolves spec.tls.backend, runs later and may set it false with
// its own reason.
func (t *translator) writeGatewayConditions(gw *gatewayv1.Gateway, st *gatewayv1.GatewayStatus, ls []*listenerState, addr gatewayAddr, insecure bool) {
	gen, conds := gw.Generation, &st.Conditions
	invalid, unresolved, programmed := listenerSummary(ls)
	accepted := len(invalid) < len(ls)
	switch {
	case addr.unsupported != "":
		setCondition(t, conds, gen, gatewayv1.GatewayConditionAccepted, metav1.ConditionFalse, gatewayv1.GatewayReasonUnsupportedAddress, addr.unsupported)
	case len(invalid) == 0:
		setCondition(t, conds, gen, gatewayv1.GatewayConditionAccepted, metav1.ConditionTrue, gatewayv1.GatewayReasonAccepted, "Gateway is valid")
	default:
		status := metav1.ConditionTrue
		if !accepted {
			status = metav1.ConditionFalse
		}
		setCondition(t, conds, gen, gatewayv1.GatewayConditionAccepted, status, gatewayv1.GatewayReasonListenersNotValid, "invalid listeners: "+strings.Join(invalid, ", "))
	}
	switch {
	case !addr.ready():
		setCondition(t, conds, gen, gatewayv1.GatewayConditionProgrammed, metav1.ConditionFalse, addr.notProgrammed.reason, addr.notProgrammed.message)
	case programmed == 0:
		setCondition(t, conds, gen, gatewayv1.GatewayConditionProgrammed, metav1.ConditionFalse, gatewayv1.GatewayReasonInvalid, "no listener could be programmed")
	default:
		setCondition(t, conds, gen, gatewayv1.GatewayConditionProgrammed, metav1.ConditionTrue, gatewayv1.GatewayReasonProgrammed, fmt.Sprintf("%d of %d listeners programmed", programmed, len(ls)))
	}
	if len(unresolved) > 0 {
		setCondition(t, conds, gen, gatewayv1.GatewayConditionResolvedRefs, metav1.ConditionFalse, gatewayv1.GatewayReasonListenersNotResolved, "listeners with unresolved references: "+strings.Join(unresolved, ", "))
	} else {
		setCondition(t, conds, gen, gatewayv1.GatewayConditionResolvedRefs, metav1.ConditionTrue, gatewayv1.GatewayReasonResolvedRefs, "all references resolved")
	}
	if insecure {
		setCondition(t, conds, gen, gatewayv1.GatewayConditionInsecureFrontendValidationMode, metav1.ConditionTrue, gatewayv1.GatewayReasonConfigurationChanged,
			"frontend client certificate validation is AllowInsecureFallback: clients without a valid certificate are let through")
	}
}

// listenerSummary lists the names of invalid (not accepted or
// conflicted) and unresolved listeners, and counts the programmed ones.
func listenerSummary(ls []*listenerState) (invalid, unresolved []string, programmed int) {
	for _, l := range ls {
		if l.notAccepted.reason != "" || l.conflict.reason != "" {
			invalid = append(invalid, string(l.spec.Name))
		}
		if l.unresolved.reason != "" {
			unresolved = append(unresolved, string(l.spec.Name))
		}
		if l.snap >= 0 {
			programmed++
		}
	}
	return invalid, unresolved, programmed
}

// markConflicts marks the listeners of one Gateway that are not distinct
// (Gateway API "Distinct Listeners"): on one port, listeners of
// incompatible protocols all conflict (ProtocolConflict); HTTPS and TLS
// are compatible, told apart by SNI. Of compatible protocols, listeners
// with the same hostname all conflict (HostnameConflict). No listener of a
// conflicting set wins. Listeners of unsupported protocols take no part,
// as the spec allows for protocols an implementation does not serve.
func markConflicts(ls []*listenerState) {
	byPort := map[int32][]*listenerState{}
	for _, l := range ls {
		if l.supported() {
			byPort[l.spec.Port] = append(byPort[l.spec.Port], l)
		}
	}
	for port, group := range byPort {
		if slices.ContainsFunc(group, func(l *listenerState) bool { return !compatibleProtocols(l.spec.Protocol, group[0].spec.Protocol) }) {
			for _, l := range group {
				l.conflicts(gatewayv1.ListenerReasonProtocolConflict, "listeners on port %d use different protocols", port)
			}
			continue
		}
		byHost := map[string][]*listenerState{}
		for _, l := range group {
			byHost[l.hostname()] = append(byHost[l.hostname()], l)
		}
		for host, same := range byHost {
			if len(same) > 1 {
				for _, l := range same {
					l.conflicts(gatewayv1.ListenerReasonHostnameConflict, "listeners on port %d share hostname %s", port, hostnameText(host))
				}
			}
		}
	}
}

// compatibleProtocols reports whether listeners of protocols a and b may
// share a port: the same protocol, or HTTPS and TLS, whose connections
// the data plane tells apart by the SNI of their ClientHello.
func compatibleProtocols(a, b gatewayv1.ProtocolType) bool {
	sni := func(p gatewayv1.ProtocolType) bool {
		return p == gatewayv1.HTTPSProtocolType || p == gatewayv1.TLSProtocolType
	}
	return a == b || sni(a) && sni(b)
}
