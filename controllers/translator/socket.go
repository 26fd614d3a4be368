package translator

import (
	"fmt"
	"net"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// socketTable records, across Gateways, which listener serves each
// hostname on each address and port, so that Gateways sharing a socket
// (several Gateways without an address all bind every interface) stay
// distinct: the data plane can serve one protocol per socket and one
// listener per hostname on it.
type socketTable map[string]*socketUse

type socketUse struct {
	protocol gatewayv1.ProtocolType
	// hosts maps a listener hostname ("" for any) to the listener's name.
	hosts map[string]string
}

// claim registers l on address and port and reports whether it may be served
// there. A listener that clashes with one already registered (by an older
// Gateway) is marked Conflicted instead.
func (s socketTable) claim(l *listenerState, address string, port int32) bool {
	key := net.JoinHostPort(address, fmt.Sprint(port))
	use, ok := s[key]
	if !ok {
		use = &socketUse{protocol: l.spec.Protocol, hosts: map[string]string{}}
		s[key] = use
	}
	if !compatibleProtocols(use.protocol, l.spec.Protocol) {
		l.conflicts(gatewayv1.ListenerReasonProtocolConflict, "port %d on %s is already served over %s by another Gateway", port, addressText(address), use.protocol)
		return false
	}
	if other, taken := use.hosts[l.hostname()]; taken {
		l.conflicts(gatewayv1.ListenerReasonHostnameConflict, "hostname %s on port %d of %s is already served by listener %s", hostnameText(l.hostname()), port, addressText(address), other)
		return false
	}
	use.hosts[l.hostname()] = l.name()
	return true
}

// addressText names a bind address in messages.
func addressText(address string) string {
	if address == "" {
		return "every interface"
	}
	return "address " + address
}

// hostnameText names a listener hostname in messages.
func hostnameText(h string) string {
	if h == "" {
		return "(any)"
	}
	return fmt.Sprintf("%q", h)
}
