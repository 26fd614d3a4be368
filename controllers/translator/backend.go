package translator

import (
	"cmp"
	"fmt"
	"net"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// resolveBackend turns a backendRef of a route of kind from in namespace
// routeNS into a snapshot backend. A reference that cannot be used still yields a
// backend, with Invalid set, so that its share of the traffic gets 500 as
// the spec requires; the problem says why, for the route's status.
//
// The checks run in this order: kind, then ReferenceGrant, then
// existence, so a route cannot learn whether a Service exists in a
// namespace that has not granted it access.
func (t *translator) resolveBackend(from groupKind, routeNS string, ref gatewayv1.BackendObjectReference) (snapshot.Backend, *refProblem) {
	ns := refNamespace(ref.Namespace, routeNS)
	port := int32(0)
	if ref.Port != nil {
		port = *ref.Port
	}
	b := snapshot.Backend{Name: t.backendName(ns, string(ref.Name), port), Namespace: ns, Service: string(ref.Name), Port: port}
	p := t.backendProblem(from, routeNS, ns, ref)
	if p == nil {
		p = t.resolveService(&b)
	}
	if p != nil {
		b.Invalid = p.message
	}
	return b, p
}

// backendKey names a Service port.
type backendKey struct {
	namespace, service string
	port               int32
}

// backendName is the Name of the backend of Service port ns/service:port.
// Every rule that sends to it shares one string: thousands of routes to
// one Service made thousands of copies.
func (t *translator) backendName(ns, service string, port int32) string {
	return memoized(&t.idx.backendNames, backendKey{ns, service, port}, func() string {
		return fmt.Sprintf("%s/%s:%d", ns, service, port)
	})
}

func (t *translator) backendProblem(from groupKind, routeNS, ns string, ref gatewayv1.BackendObjectReference) *refProblem {
	if gk := refKind(ref.Group, ref.Kind, "", "Service"); gk != kindService {
		return &refProblem{gatewayv1.RouteReasonInvalidKind, fmt.Sprintf("backendRef %s: kind %s in group %q is not supported: use a Service", ref.Name, gk.Kind, gk.Group)}
	}
	if !t.refAllowed(from, routeNS, kindService, ns, string(ref.Name)) {
		return &refProblem{gatewayv1.RouteReasonRefNotPermitted, fmt.Sprintf("backendRef Service %s/%s is in another namespace and no ReferenceGrant allows it", ns, ref.Name)}
	}
	if ref.Port == nil {
		return &refProblem{gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("backendRef Service %s/%s: port is required", ns, ref.Name)}
	}
	return nil
}

// resolveService fills b from its Service: the port's protocol and its
// ready endpoints.
//
// An ExternalName Service is refused with InvalidKind: the spec says
// implementations SHOULD NOT support them (CVE-2021-25740: they can point
// the gateway anywhere DNS can), and of the spec's reasons, "an
// unsupported kind of resource" describes it best. A UDP or SCTP port is
// refused with UnsupportedProtocol: HTTP cannot be sent to it.
func (t *translator) resolveService(b *snapshot.Backend) *refProblem {
	svc := t.idx.services[nameOf(b.Namespace, b.Service)]
	if svc == nil {
		return &refProblem{gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("backendRef Service %s/%s does not exist", b.Namespace, b.Service)}
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return &refProblem{gatewayv1.RouteReasonInvalidKind, fmt.Sprintf("backendRef Service %s/%s is of type ExternalName, which certgate does not route to", b.Namespace, b.Service)}
	}
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == b.Port })
	if i < 0 {
		return &refProblem{gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("backendRef Service %s/%s has no port %d", b.Namespace, b.Service, b.Port)}
	}
	sp := svc.Spec.Ports[i]
	if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
		return &refProblem{gatewayv1.RouteReasonUnsupportedProtocol, fmt.Sprintf("backendRef Service %s/%s port %d is %s; HTTP needs TCP", b.Namespace, b.Service, b.Port, sp.Protocol)}
	}
	b.AppProtocol = appProtocol(sp.AppProtocol)
	b.Endpoints = t.endpoints(b, sp.Name)
	return nil
}

// appProtocol maps a Service port's appProtocol to the snapshot's. The
// two Kubernetes standard protocols that change how certgate talks to the
// backend are kubernetes.io/h2c and kubernetes.io/ws; anything else
// ("http", unset, unknown values) is spoken to as HTTP/1.1, which is what
// a backend behind an HTTPRoute is assumed to serve.
func appProtocol(p *string) snapshot.AppProtocol {
	if p == nil {
		return snapshot.AppProtocolHTTP
	}
	switch snapshot.AppProtocol(*p) {
	case snapshot.AppProtocolH2C, snapshot.AppProtocolWebSocket:
		return snapshot.AppProtocol(*p)
	}
	return snapshot.AppProtocolHTTP
}

// endpoints collects the ready endpoints of a Service port from the
// Service's EndpointSlices: the slice port with the Service port's name,
// IP addresses only (FQDN slices are skipped), endpoints whose ready
// condition is true or unknown (nil means ready, as the EndpointSlice API
// says consumers should assume). Sorted and deduplicated, so the snapshot
// does not change when slices are merely reshuffled.
//
// Every backend of one Service port gets the same slice, computed once per
// translation: with thousands of rules to one Service, a copy per rule was
// a copy of the endpoint list per rule in the snapshot. Nothing after the
// translator writes to it.
func (t *translator) endpoints(b *snapshot.Backend, portName string) []snapshot.Endpoint {
	k := endpointsKey{service: nameOf(b.Namespace, b.Service), port: portName}
	return memoized(&t.idx.endpoints, k, func() []snapshot.Endpoint { return t.readyEndpoints(k) })
}

// endpointsKey names a Service port by the name its EndpointSlices use.
type endpointsKey struct {
	service types.NamespacedName
	port    string
}

func (t *translator) readyEndpoints(k endpointsKey) []snapshot.Endpoint {
	var out []snapshot.Endpoint
	for _, es := range t.idx.slices[k.service] {
		if es.AddressType != discoveryv1.AddressTypeIPv4 && es.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		port, ok := slicePort(es, k.port)
		if !ok {
			continue
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				if ip := net.ParseIP(a); ip != nil {
					out = append(out, snapshot.Endpoint{Address: ip.String(), Port: port})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b snapshot.Endpoint) int {
		return cmp.Or(cmp.Compare(a.Address, b.Address), cmp.Compare(a.Port, b.Port))
	})
	return slices.Compact(out)
}

// slicePort returns the port number of the slice port named name.
func slicePort(es *discoveryv1.EndpointSlice, name string) (int32, bool) {
	for _, p := range es.Ports {
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		if pn == name && p.Port != nil && *p.Port >= 1 && *p.Port <= 65535 {
			return *p.Port, true
		}
	}
	return 0, false
}
