package translator

import (
	"fmt"
	"net"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gatewayAddr is the address a Gateway's listeners bind, or why there is
// none.
type gatewayAddr struct {
	// value is the IP address to bind; "" binds every interface.
	value string
	// notProgrammed, when its reason is set, says why the Gateway cannot
	// be programmed (Programmed=False).
	notProgrammed gatewayProblem
	// unsupported, when set, is why the Gateway is not accepted
	// (Accepted=False, UnsupportedAddress).
	unsupported string
}

func (a gatewayAddr) ready() bool { return a.notProgrammed.reason == "" }

// gatewayAddress decides where a Gateway's listeners bind:
//
//  1. Options.GatewayAddress, when set (the address-pool mode), decides
//     alone; "not yet" is AddressNotAssigned.
//  2. Otherwise the first spec.addresses entry, which must be an
//     IPAddress: certgate binds sockets itself, so a Hostname or named
//     address means nothing to it (Accepted=False, UnsupportedAddress),
//     an empty value would need an allocator it does not have
//     (AddressNotAssigned), and a value that is not an IP cannot be bound
//     (AddressNotUsable).
//  3. With no addresses, or in the Service-per-Gateway mode (where the
//     Service carries the address), every interface, and status reports
//     no address of its own.
//
// Only one address is bound: a snapshot listener has one. Further
// spec.addresses entries are ignored and absent from status, which the
// spec allows ("a specified address was unusable").
func (t *translator) gatewayAddress(gw *gatewayv1.Gateway) gatewayAddr {
	if t.opts.GatewayAddress != nil {
		if ip, ok := t.opts.GatewayAddress(gw); ok {
			return gatewayAddr{value: ip}
		}
		return unboundAddr(gatewayv1.GatewayReasonAddressNotAssigned, "no address has been assigned to this Gateway yet")
	}
	if len(gw.Spec.Addresses) == 0 || t.opts.ServicePerGateway {
		return gatewayAddr{}
	}
	a := gw.Spec.Addresses[0]
	if a.Type != nil && *a.Type != gatewayv1.IPAddressType {
		msg := fmt.Sprintf("spec.addresses[0]: type %q is not supported: certgate binds IPAddress addresses only", *a.Type)
		addr := unboundAddr(gatewayv1.GatewayReasonAddressNotAssigned, msg)
		addr.unsupported = msg
		return addr
	}
	if a.Value == "" {
		return unboundAddr(gatewayv1.GatewayReasonAddressNotAssigned, "spec.addresses[0]: certgate cannot allocate an address; give an IP address")
	}
	ip := net.ParseIP(a.Value)
	if ip == nil {
		return unboundAddr(gatewayv1.GatewayReasonAddressNotUsable, fmt.Sprintf("spec.addresses[0]: %q is not an IP address", a.Value))
	}
	return gatewayAddr{value: ip.String()}
}

// unboundAddr is no address to bind, for reason.
func unboundAddr(reason gatewayv1.GatewayConditionReason, message string) gatewayAddr {
	return gatewayAddr{notProgrammed: gatewayProblem{reason: reason, message: message}}
}
