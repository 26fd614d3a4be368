package translator

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The Service-per-Gateway mode, as the translation sees it.
//
// In this mode each accepted Gateway has a Service, provisioned by the
// Kubernetes provider's leader in the controller's namespace (where the
// Pods it selects are), that records on itself which container port each
// listener port is mapped to (AnnotationContainerPorts). The
// translation reads that Service from Resources like any other object, so
// the snapshot is a function of its inputs alone: every replica given the
// same Resources binds the same ports, and a golden scenario can hold the
// Service.

const (
	// AnnotationContainerPorts records a Service's allocation: "listener
	// port=container port" pairs, comma-separated, by listener port.
	AnnotationContainerPorts = "certgate.dev/container-ports"
	// AnnotationControllerName names the controller that manages the
	// Service, so that several certgate installations keep to their own.
	AnnotationControllerName = "certgate.dev/controller-name"
	// AnnotationGateway names the Service's Gateway, "namespace/name".
	AnnotationGateway = "certgate.dev/gateway"
	// AnnotationGatewayUID is the UID of the Service's Gateway.
	AnnotationGatewayUID = "certgate.dev/gateway-uid"
	// LabelGatewayNamespace and LabelGatewayName name the Service's
	// Gateway for label selectors (kubectl get svc -l ...); the name label
	// is left out when the Gateway's name is not a valid label value.
	LabelGatewayNamespace = "certgate.dev/gateway-namespace"
	LabelGatewayName      = "certgate.dev/gateway-name"
)

// gatewayExposure is how a Gateway is reached through its Service.
type gatewayExposure struct {
	// ports maps a listener port to the container port the data plane binds.
	ports map[int32]int32
	// addresses are reported in the Gateway's status.addresses.
	addresses []gatewayv1.GatewayStatusAddress
}

// GatewayServiceName is the name of the Service of the Gateway
// namespace/name: "certgate-<namespace>-<name>", sanitized and truncated
// so that it is a valid Service name, then a hash of namespace/name, so two
// Gateways never share one even when truncation or sanitizing makes their
// readable parts equal. The Services of all Gateways live in one namespace
// (Options.ServiceNamespace), so the name carries the Gateway's namespace.
func GatewayServiceName(namespace, name string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(namespace + "/" + name))
	suffix := fmt.Sprintf("-%08x", h.Sum32())
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower("certgate-"+namespace+"-"+name))
	base = strings.TrimRight(base[:min(len(base), validation.DNS1035LabelMaxLength-len(suffix))], "-")
	return base + suffix
}

// FormatContainerPorts renders an allocation for AnnotationContainerPorts.
func FormatContainerPorts(ports map[int32]int32) string {
	pairs := make([]string, 0, len(ports))
	for _, lp := range slices.Sorted(maps.Keys(ports)) {
		pairs = append(pairs, fmt.Sprintf("%d=%d", lp, ports[lp]))
	}
	return strings.Join(pairs, ",")
}

// ParseContainerPorts parses AnnotationContainerPorts.
func ParseContainerPorts(s string) (map[int32]int32, error) {
	out := map[int32]int32{}
	for pair := range strings.SplitSeq(s, ",") {
		if pair == "" {
			continue
		}
		a, b, ok := strings.Cut(pair, "=")
		lp, err1 := strconv.ParseInt(a, 10, 32)
		cp, err2 := strconv.ParseInt(b, 10, 32)
		if !ok || err1 != nil || err2 != nil || lp < 1 || lp > 65535 || cp < 1 || cp > 65535 {
			return nil, fmt.Errorf("%s %q: %q is not LISTENERPORT=CONTAINERPORT", AnnotationContainerPorts, s, pair)
		}
		out[int32(lp)] = int32(cp)
	}
	return out, nil
}

// GatewayOwnsService reports whether svc is the Service of this very
// Gateway: its annotations name the Gateway and its UID, so a Service left
// over from a deleted Gateway of the same name is not its Service. The
// Service lives in the controller's namespace, not the Gateway's, so an
// owner reference (which cannot cross namespaces) cannot say this.
func GatewayOwnsService(gw *gatewayv1.Gateway, svc *corev1.Service) bool {
	return svc.Annotations[AnnotationGateway] == gw.Namespace+"/"+gw.Name &&
		svc.Annotations[AnnotationGatewayUID] == string(gw.UID)
}

// gatewayExposure says, in the Service-per-Gateway mode, how gw is
// exposed. A Gateway whose Service is not there yet, not owned by it, not
// this controller's, or without a readable allocation waits for it: addr
// is made not ready (Pending), so nothing is bound on a port no Service
// maps.
func (t *translator) gatewayExposure(gw *gatewayv1.Gateway, addr *gatewayAddr) (gatewayExposure, bool) {
	if !t.opts.ServicePerGateway || !addr.ready() {
		return gatewayExposure{}, false
	}
	svc := t.idx.services[nameOf(t.opts.ServiceNamespace, GatewayServiceName(gw.Namespace, gw.Name))]
	if svc == nil || !GatewayOwnsService(gw, svc) || svc.Annotations[AnnotationControllerName] != string(t.opts.ControllerName) {
		addr.notProgrammed = gatewayProblem{reason: gatewayv1.GatewayReasonPending, message: "waiting for its Service"}
		return gatewayExposure{}, false
	}
	ports, err := ParseContainerPorts(svc.Annotations[AnnotationContainerPorts])
	if err != nil {
		addr.notProgrammed = gatewayProblem{reason: gatewayv1.GatewayReasonPending, message: fmt.Sprintf("waiting for its Service: Service %s/%s: %v", svc.Namespace, svc.Name, err)}
		return gatewayExposure{}, false
	}
	return gatewayExposure{ports: ports, addresses: serviceAddresses(svc)}, true
}

// serviceAddresses are the addresses a Gateway reports: its Service's
// load-balancer ingress, or, for a Service that is not a LoadBalancer, its
// cluster IP.
func serviceAddresses(svc *corev1.Service) []gatewayv1.GatewayStatusAddress {
	var out []gatewayv1.GatewayStatusAddress
	for _, in := range svc.Status.LoadBalancer.Ingress {
		switch {
		case in.IP != "":
			out = append(out, gatewayv1.GatewayStatusAddress{Type: ptr.To(gatewayv1.IPAddressType), Value: in.IP})
		case in.Hostname != "":
			out = append(out, gatewayv1.GatewayStatusAddress{Type: ptr.To(gatewayv1.HostnameAddressType), Value: in.Hostname})
		}
	}
	if len(out) == 0 && svc.Spec.Type != corev1.ServiceTypeLoadBalancer && svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		out = append(out, gatewayv1.GatewayStatusAddress{Type: ptr.To(gatewayv1.IPAddressType), Value: svc.Spec.ClusterIP})
	}
	return out
}
