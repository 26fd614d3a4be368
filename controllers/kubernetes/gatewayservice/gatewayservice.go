package gatewayservice

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/controllers/translator"
)

// The Service-per-Gateway mode.
//
// The leader gives each accepted Gateway of certgate's classes a Service
// in the controller's own namespace (Options.Namespace), selecting the
// controller's own Pods: a Service selects Pods of its own namespace only,
// so a Service in the Gateway's namespace would have no endpoints. The
// Service is named after the Gateway (translator.GatewayServiceName) and
// names it in its labels and annotations; an owner reference cannot cross
// namespaces, so the leader itself deletes the Services whose Gateway is
// gone, replaced (another UID) or no longer accepted. Each distinct
// listener port becomes a ServicePort whose targetPort is a container port
// allocated for that Gateway and port from a range; the allocation is
// recorded on the Service (translator.AnnotationContainerPorts). Every
// replica, leader or not, lists the Services from its cache into
// Resources, and the translation binds, for each listener port, the
// recorded container port (translator gatewayservice.go): replicas never
// compute allocations, so they cannot disagree, and a Gateway whose
// Service is not there yet is not bound at all.

const (
	// labelManagedBy marks the Services certgate manages, so the leader can
	// list them with a label selector.
	labelManagedBy      = "app.kubernetes.io/managed-by"
	labelManagedByValue = "certgate"
)

// Options configure the Service-per-Gateway mode.
type Options struct {
	// Type of the Services: LoadBalancer, NodePort or ClusterIP.
	Type corev1.ServiceType
	// Selector selects the controller's Pods.
	Selector map[string]string
	// ContainerPorts is the range container ports are allocated from.
	ContainerPorts PortRange
	// Namespace is where the Services are created: the controller's own,
	// where the Pods Selector selects run.
	Namespace string
}

// PortRange is an inclusive range of ports.
type PortRange struct{ First, Last int32 }

// ParsePortRange parses "20000-29999".
func ParsePortRange(s string) (PortRange, error) {
	a, b, ok := strings.Cut(s, "-")
	first, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 32)
	last, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 32)
	if !ok || err1 != nil || err2 != nil || first < 1 || last > 65535 || first > last {
		return PortRange{}, fmt.Errorf("%q is not a port range FIRST-LAST within 1-65535", s)
	}
	return PortRange{First: int32(first), Last: int32(last)}, nil
}

// ParseSelector parses "key=value,key=value" into labels.
func ParseSelector(s string) (map[string]string, error) {
	out := map[string]string{}
	for pair := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || len(validation.IsQualifiedName(k)) > 0 || len(validation.IsValidLabelValue(v)) > 0 {
			return nil, fmt.Errorf("%q is not a label key=value", pair)
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil, errors.New("no labels")
	}
	return out, nil
}

// GatewayPorts are the listener ports one Gateway wants.
type GatewayPorts struct {
	Gateway types.NamespacedName
	Ports   []int32
}

// AllocateContainerPorts allocates a container port in r for each wanted
// listener port of each Gateway, given the allocations recorded so far
// (existing). It is a pure function, so the result depends on its inputs
// only:
//
//   - a Gateway keeps the container port already recorded for a listener
//     port it still wants, if that port is in r and no Gateway before it in
//     wanted holds it (wanted is in priority order: oldest Gateway first);
//   - every other wanted port gets the lowest free port of r, Gateways in
//     wanted order and ports in ascending order;
//   - allocations of Gateways or ports no longer wanted are released.
//
// No container port is given twice. When r runs out, the remaining ports
// are left out of the result, and their listeners are not served.
func AllocateContainerPorts(r PortRange, existing map[types.NamespacedName]map[int32]int32, wanted []GatewayPorts) map[types.NamespacedName]map[int32]int32 {
	out := make(map[types.NamespacedName]map[int32]int32, len(wanted))
	used := map[int32]bool{}
	for _, g := range wanted {
		out[g.Gateway] = map[int32]int32{}
		for _, lp := range sortedUnique(g.Ports) {
			if cp, ok := existing[g.Gateway][lp]; ok && cp >= r.First && cp <= r.Last && !used[cp] {
				out[g.Gateway][lp] = cp
				used[cp] = true
			}
		}
	}
	next := r.First
	for _, g := range wanted {
		for _, lp := range sortedUnique(g.Ports) {
			if _, ok := out[g.Gateway][lp]; ok {
				continue
			}
			for next <= r.Last && used[next] {
				next++
			}
			if next > r.Last {
				break
			}
			out[g.Gateway][lp] = next
			used[next] = true
		}
	}
	return out
}

func sortedUnique(ports []int32) []int32 {
	s := slices.Clone(ports)
	slices.Sort(s)
	return slices.Compact(s)
}

// Provisioner creates, updates and deletes the Gateways' Services.
// Only the leader runs it, on the status writer's goroutine, so runs are
// serialised.
type Provisioner struct {
	client     client.Client
	api        client.Reader
	controller gatewayv1.GatewayController
	opts       Options
	log        *slog.Logger
}

// listManaged lists the Services certgate manages in Options.Namespace.
func (s *Provisioner) listManaged(ctx context.Context) (*corev1.ServiceList, error) {
	list := &corev1.ServiceList{}
	return list, s.api.List(ctx, list, client.InNamespace(s.opts.Namespace), client.MatchingLabels{labelManagedBy: labelManagedByValue})
}

// NewProvisioner returns a provisioner that writes Services through c and
// lists them from api, for the Gateways of controller's classes.
func NewProvisioner(c client.Client, api client.Reader, controller gatewayv1.GatewayController, opts Options, log *slog.Logger) *Provisioner {
	return &Provisioner{client: c, api: api, controller: controller, opts: opts, log: log}
}

// Provision makes the Services match the Gateways that result accepted. It lists
// the managed Services from the API server rather than the cache: the
// allocation must see the Services this leader just wrote, or it could
// hand a container port out twice. It reports whether it must be retried.
func (s *Provisioner) Provision(ctx context.Context, res *resources.Resources, result *translator.Result) bool {
	list, err := s.listManaged(ctx)
	if err != nil {
		s.log.Error("listing the Gateways' Services failed", "error", err)
		return true
	}
	gateways := acceptedGateways(res, result)
	byService := make(map[types.NamespacedName]*gatewayv1.Gateway, len(gateways))
	for _, gw := range gateways {
		byService[types.NamespacedName{Namespace: s.opts.Namespace, Name: translator.GatewayServiceName(gw.Namespace, gw.Name)}] = gw
	}
	current := map[types.NamespacedName]*corev1.Service{}
	existing := map[types.NamespacedName]map[int32]int32{}
	retry := false
	for i := range list.Items {
		svc := &list.Items[i]
		if svc.Annotations[translator.AnnotationControllerName] != string(s.controller) {
			continue
		}
		gw := byService[nn(svc)]
		if gw == nil || !translator.GatewayOwnsService(gw, svc) {
			s.log.Info("deleting the Service of a Gateway that is gone or not accepted", "service", nn(svc))
			retry = s.delete(ctx, svc) || retry
			continue
		}
		current[nn(gw)] = svc
		existing[nn(gw)], _ = translator.ParseContainerPorts(svc.Annotations[translator.AnnotationContainerPorts])
	}
	wanted := make([]GatewayPorts, 0, len(gateways))
	for _, gw := range gateways {
		wanted = append(wanted, GatewayPorts{Gateway: nn(gw), Ports: wantedPorts(gw)})
	}
	alloc := AllocateContainerPorts(s.opts.ContainerPorts, existing, wanted)
	for _, gw := range gateways {
		if len(alloc[nn(gw)]) < len(sortedUnique(wantedPorts(gw))) {
			s.log.Error("the container port range is exhausted: some listeners of the Gateway are not served", "gateway", nn(gw), "range", s.opts.ContainerPorts)
		}
		retry = s.apply(ctx, gw, current[nn(gw)], alloc[nn(gw)]) || retry
	}
	return retry
}

// apply creates or updates one Gateway's Service.
func (s *Provisioner) apply(ctx context.Context, gw *gatewayv1.Gateway, cur *corev1.Service, ports map[int32]int32) bool {
	want := s.desired(gw, cur, ports)
	var err error
	switch {
	case cur == nil:
		s.log.Info("creating the Gateway's Service", "service", nn(want), "ports", translator.FormatContainerPorts(ports))
		err = s.client.Create(ctx, want)
		if apierrors.IsAlreadyExists(err) {
			s.log.Error("a Service with the Gateway's Service name exists and is not certgate's; the Gateway waits", "service", nn(want))
			return false
		}
	case !serviceMatches(cur, want):
		s.log.Info("updating the Gateway's Service", "service", nn(want), "ports", translator.FormatContainerPorts(ports))
		err = s.client.Update(ctx, want)
	}
	if err != nil && ctx.Err() == nil {
		s.log.Error("writing the Gateway's Service failed", "service", nn(want), "error", err)
		return true
	}
	return false
}

func (s *Provisioner) delete(ctx context.Context, svc *corev1.Service) bool {
	err := s.client.Delete(ctx, svc, client.Preconditions{UID: &svc.UID, ResourceVersion: &svc.ResourceVersion})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		s.log.Error("deleting a Gateway's Service failed", "service", nn(svc), "error", err)
		return true
	}
	return false
}

// desired is the Service gw should have; built on cur when it exists, so
// what the API server filled in (cluster IP, node ports) is kept.
func (s *Provisioner) desired(gw *gatewayv1.Gateway, cur *corev1.Service, ports map[int32]int32) *corev1.Service {
	svc := &corev1.Service{}
	if cur != nil {
		svc = cur.DeepCopy()
	}
	svc.Namespace, svc.Name = s.opts.Namespace, translator.GatewayServiceName(gw.Namespace, gw.Name)
	svc.Labels = withEntry(svc.Labels, labelManagedBy, labelManagedByValue)
	svc.Labels[translator.LabelGatewayNamespace] = gw.Namespace
	if len(validation.IsValidLabelValue(gw.Name)) == 0 {
		svc.Labels[translator.LabelGatewayName] = gw.Name
	}
	svc.Annotations = withEntry(svc.Annotations, translator.AnnotationControllerName, string(s.controller))
	svc.Annotations[translator.AnnotationContainerPorts] = translator.FormatContainerPorts(ports)
	svc.Annotations[translator.AnnotationGateway] = gw.Namespace + "/" + gw.Name
	svc.Annotations[translator.AnnotationGatewayUID] = string(gw.UID)
	svc.Spec.Type = s.opts.Type
	svc.Spec.Selector = maps.Clone(s.opts.Selector)
	nodePorts := map[int32]int32{}
	for _, p := range svc.Spec.Ports {
		nodePorts[p.Port] = p.NodePort
	}
	svc.Spec.Ports = nil
	for _, lp := range slices.Sorted(maps.Keys(ports)) {
		p := corev1.ServicePort{
			Name: fmt.Sprintf("port-%d", lp), Protocol: corev1.ProtocolTCP, Port: lp, TargetPort: intstr.FromInt32(ports[lp]),
		}
		if s.opts.Type != corev1.ServiceTypeClusterIP {
			p.NodePort = nodePorts[lp]
		}
		svc.Spec.Ports = append(svc.Spec.Ports, p)
	}
	return svc
}

// serviceMatches compares what certgate decides about a Service.
func serviceMatches(cur, want *corev1.Service) bool {
	return cur.Spec.Type == want.Spec.Type &&
		reflect.DeepEqual(cur.Spec.Selector, want.Spec.Selector) &&
		reflect.DeepEqual(cur.Spec.Ports, want.Spec.Ports) &&
		cur.Labels[labelManagedBy] == want.Labels[labelManagedBy] &&
		cur.Labels[translator.LabelGatewayNamespace] == want.Labels[translator.LabelGatewayNamespace] &&
		cur.Labels[translator.LabelGatewayName] == want.Labels[translator.LabelGatewayName] &&
		cur.Annotations[translator.AnnotationContainerPorts] == want.Annotations[translator.AnnotationContainerPorts]
}

// acceptedGateways are the Gateways of res that result accepted,
// oldest first: an older Gateway keeps a contested container port.
func acceptedGateways(res *resources.Resources, result *translator.Result) []*gatewayv1.Gateway {
	accepted := map[types.NamespacedName]bool{}
	for _, g := range result.Status.Gateways {
		accepted[g.NamespacedName] = meta.IsStatusConditionTrue(g.Status.Conditions, string(gatewayv1.GatewayConditionAccepted))
	}
	var out []*gatewayv1.Gateway
	for _, gw := range res.Gateways {
		if accepted[nn(gw)] {
			out = append(out, gw)
		}
	}
	slices.SortStableFunc(out, func(a, b *gatewayv1.Gateway) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time),
			cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// wantedPorts are gw's listener ports, one ServicePort each.
func wantedPorts(gw *gatewayv1.Gateway) []int32 {
	var out []int32
	for _, l := range gw.Spec.Listeners {
		out = append(out, l.Port)
	}
	return out
}

func withEntry(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func nn(o client.Object) types.NamespacedName { return client.ObjectKeyFromObject(o) }
