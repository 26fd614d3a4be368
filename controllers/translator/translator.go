package translator

import (
	"cmp"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// ControllerName is the GatewayClass controllerName certgate serves.
const ControllerName gatewayv1.GatewayController = "certgate.dev/gateway-controller"

// Options are the inputs of a translation that are not resources.
type Options struct {
	// ControllerName selects the GatewayClasses to serve; empty means
	// ControllerName.
	ControllerName gatewayv1.GatewayController
	// Now is the time written into condition transitions and used to judge
	// certificate validity.
	Now time.Time
	// GatewayAddress, when set, gives the IP address a Gateway's listeners
	// bind and its status reports (the address-pool mode). When nil, a
	// Gateway binds its first spec.addresses IPAddress, or all interfaces.
	GatewayAddress func(gw *gatewayv1.Gateway) (string, bool)
	// ServicePerGateway turns on the Service-per-Gateway mode
	// (gatewayservice.go): a Gateway binds the container port its Service
	// in Resources maps each listener port to, and reports the Service's
	// addresses. A Gateway whose Service is not there yet is not
	// programmed (Pending) rather than bound on a port nobody routes to,
	// and a listener whose port the Service does not map yet is not
	// programmed either. The bind address is still decided as without it,
	// except that spec.addresses is left to the Service.
	ServicePerGateway bool
	// ServiceNamespace is the namespace the Gateways' Services live in,
	// in the Service-per-Gateway mode: the controller's own, where the
	// Pods they select are.
	ServiceNamespace string
	// LastGoodCertificates are the serving certificates the previous
	// applied translation resolved, given back so that a listener whose
	// Secret became unusable keeps its last good one (lastgood.go). Nil
	// means none: the first translation after a start.
	LastGoodCertificates LastGoodCertificates
	// Previous is the Reuse of the last translation whose snapshot was
	// applied: the final rules of its HTTPRoutes, which this translation
	// takes for the routes and inputs that did not change (reuse.go). Nil
	// means none: every route is converted.
	Previous *Reuse
	// Versioned says that every object carries the API server's UID and
	// resourceVersion, so an object whose resourceVersion did not change
	// did not change (the Kubernetes provider, whose objects are new
	// copies on every run). Without it, the translation compares objects
	// by pointer (the file provider, which decodes a changed file into
	// new objects).
	Versioned bool
}

// Result is the output of a translation.
type Result struct {
	Snapshot snapshot.Snapshot `json:"snapshot"`
	Status   Status            `json:"status"`
	// LastGoodCertificates are the serving certificates this translation
	// resolved, for Options.LastGoodCertificates of the next one. They are
	// left out of the JSON form: the snapshot already shows what is served.
	LastGoodCertificates LastGoodCertificates `json:"-"`
	// Reuse is what the next translation may take from this one, for
	// Options.Previous once this result's snapshot is applied.
	Reuse *Reuse `json:"-"`
}

// Status holds the status of every object certgate is responsible for,
// each list sorted by namespace and name. HTTPRoute statuses hold only the
// parents this controller handles; the writer merges them with other
// controllers' entries. A Status is read, never written: the statuses of
// routes share their conditions when they are equal (soundConditions).
type Status struct {
	GatewayClasses     []GatewayClassStatus     `json:"gatewayClasses,omitempty"`
	Gateways           []GatewayStatus          `json:"gateways,omitempty"`
	HTTPRoutes         []RouteStatus            `json:"httpRoutes,omitempty"`
	TLSRoutes          []RouteStatus            `json:"tlsRoutes,omitempty"`
	GRPCRoutes         []RouteStatus            `json:"grpcRoutes,omitempty"`
	BackendTLSPolicies []BackendTLSPolicyStatus `json:"backendTLSPolicies,omitempty"`
	ClientCertPolicies []ClientCertPolicyStatus `json:"clientCertPolicies,omitempty"`
}

// GatewayClassStatus is the status of one GatewayClass.
type GatewayClassStatus struct {
	Name   string                       `json:"name"`
	Status gatewayv1.GatewayClassStatus `json:"status"`
}

// GatewayStatus is the status of one Gateway.
type GatewayStatus struct {
	types.NamespacedName `json:"-"`
	Status               gatewayv1.GatewayStatus `json:"status"`
}

// RouteStatus is the status of one route (HTTPRoute, GRPCRoute or
// TLSRoute: their statuses are the same), for this controller's parents.
type RouteStatus struct {
	types.NamespacedName `json:"-"`
	Status               gatewayv1.RouteStatus `json:"status"`
}

// BackendTLSPolicyStatus is the status of one BackendTLSPolicy, for this
// controller's ancestors.
type BackendTLSPolicyStatus struct {
	types.NamespacedName `json:"-"`
	Status               gatewayv1.PolicyStatus `json:"status"`
}

// ClientCertPolicyStatus is the status of one ClientCertPolicy.
type ClientCertPolicyStatus struct {
	types.NamespacedName `json:"-"`
	Status               v1alpha1.ClientCertPolicyStatus `json:"status"`
}

// translator holds one translation's input, indexes and output.
type translator struct {
	res  *resources.Resources
	opts Options
	idx  *index

	snapshot snapshot.Snapshot

	// Statuses being built, by object. finish sorts them into a Status.
	classStatus map[string]*gatewayv1.GatewayClassStatus
	gwStatus    map[types.NamespacedName]*gatewayv1.GatewayStatus
	// routeStatus holds the statuses of the routes of each kind, in the
	// order they were translated (see routeStatusList).
	routeStatus map[groupKind][]RouteStatus
	// sound are the conditions routes without a problem share, by
	// generation (soundConditions).
	sound map[int64][]metav1.Condition
	// soundParents are the parent status lists routes with one parentRef
	// without a problem share (keptParents).
	soundParents map[soundParentKey][]gatewayv1.RouteParentStatus
	// parentRefs are the interned parentRef values (internRef): those of
	// Options.Previous, in its map, until this translation meets a new
	// one and copies it (ownParentRefs).
	parentRefs    map[parentRefValue]*parentRefValue
	ownParentRefs bool
	btlsStatus    map[types.NamespacedName]*gatewayv1.PolicyStatus
	policyStatus  map[types.NamespacedName]*v1alpha1.ClientCertPolicyStatus

	// Built by the gateway stage for the later ones.
	classes  map[string]*gatewayv1.GatewayClass
	gateways []*gatewayv1.Gateway
	// listeners are each Gateway's listeners as the gateway stage left
	// them, in spec order; the route stage attaches routes to them.
	listeners map[types.NamespacedName][]*listenerState
	// kindConflicts is built on first use by the route stage
	// (kindconflict.go).
	kindConflicts *kindConflicts
	// lastGood is built by the gateway stage (lastgood.go).
	lastGood LastGoodCertificates

	// Reuse (reuse.go): prev is what this translation may take, nil when
	// its inputs differ; next is what it leaves. taken are the memos of
	// the rules it took, by listener and route of the snapshot (noteTaken),
	// and tookAny says there is one; recording are the memos of the rules
	// it converted, by its route's first rule in the snapshot. reuseFailed
	// is set when the taken rules turn out to be out of date.
	prev *Reuse
	// cursor is the place in prev.routes after the last memo found, and
	// prevIndex the memos by identity, made when routes were added or
	// removed (memoOf).
	cursor      int
	prevIndex   map[identity]int
	next        *Reuse
	taken       [][]*listenerMemo
	tookAny     bool
	recording   map[*snapshot.Rule]*listenerMemo
	reuseFailed bool
}

// Translate turns res into a snapshot and statuses. It never fails: every
// problem becomes a status condition on the object at fault, and whatever
// is valid is still translated.
func Translate(res *resources.Resources, opts Options) *Result {
	if opts.ControllerName == "" {
		opts.ControllerName = ControllerName
	}
	t := newTranslator(res, opts, opts.Previous)
	t.run()
	if t.reuseFailed {
		t = newTranslator(res, opts, nil)
		t.run()
	}
	return t.finish()
}

// newTranslator starts a translation that may take rules from prev.
func newTranslator(res *resources.Resources, opts Options, prev *Reuse) *translator {
	inputs, ro := inputsOf(res, opts.Versioned), optionsOf(opts)
	t := &translator{
		res:          res,
		opts:         opts,
		idx:          newIndex(res),
		classStatus:  map[string]*gatewayv1.GatewayClassStatus{},
		gwStatus:     map[types.NamespacedName]*gatewayv1.GatewayStatus{},
		routeStatus:  map[groupKind][]RouteStatus{},
		btlsStatus:   map[types.NamespacedName]*gatewayv1.PolicyStatus{},
		policyStatus: map[types.NamespacedName]*v1alpha1.ClientCertPolicyStatus{},
		classes:      map[string]*gatewayv1.GatewayClass{},
		listeners:    map[types.NamespacedName][]*listenerState{},
		next: &Reuse{inputs: inputs, opts: ro, routes: make([]*routeMemo, len(res.HTTPRoutes)),
			requirements: map[string]*snapshot.Requirement{}},
		recording: map[*snapshot.Rule]*listenerMemo{},
	}
	if prev.sameInputs(inputs, ro) {
		t.prev = prev
	}
	if opts.Previous != nil {
		// Values, whatever the inputs: any translation may take them.
		t.parentRefs = opts.Previous.parentRefs
	}
	return t
}

func (t *translator) run() {
	for _, stage := range stages {
		stage(t)
	}
}

// stages are Translate's stages in the order they run (doc.go describes
// each). A stage may read what the earlier ones built: the classes and
// listener state of the gateway stage, the snapshot being assembled and
// the statuses so far.
var stages = []func(*translator){
	(*translator).translateGatewayClasses,
	(*translator).translateGateways,
	(*translator).translateHTTPRoutes,
	(*translator).translateTLSRoutes,
	(*translator).translateGRPCRoutes,
	(*translator).translateBackendTLS,
	(*translator).translateClientCertPolicies,
}

// finish sorts the snapshot and the statuses into the result.
func (t *translator) finish() *Result {
	t.recordSizes()
	t.next.parentRefs = t.parentRefs
	if len(t.parentRefs) > len(t.res.HTTPRoutes)+len(t.res.GRPCRoutes)+len(t.res.TLSRoutes)+64 {
		// Values no route uses any more pile up: the next translation
		// starts again. The plans keep their pointers, which stay valid;
		// routes of equal parentRefs then share a list less.
		t.next.parentRefs = nil
	}
	out := &Result{Snapshot: t.snapshot, LastGoodCertificates: t.lastGood, Reuse: t.next}
	slices.SortFunc(out.Snapshot.Listeners, func(a, b snapshot.Listener) int { return cmp.Compare(a.Name, b.Name) })
	for _, name := range sortedKeys(t.classStatus, func(a, b string) int { return cmp.Compare(a, b) }) {
		out.Status.GatewayClasses = append(out.Status.GatewayClasses, GatewayClassStatus{Name: name, Status: *t.classStatus[name]})
	}
	for _, nn := range sortedNames(t.gwStatus) {
		out.Status.Gateways = append(out.Status.Gateways, GatewayStatus{NamespacedName: nn, Status: *t.gwStatus[nn]})
	}
	out.Status.HTTPRoutes = t.routeStatusList(kindHTTPRoute)
	out.Status.TLSRoutes = t.routeStatusList(kindTLSRoute)
	out.Status.GRPCRoutes = t.routeStatusList(kindGRPCRoute)
	for _, nn := range sortedNames(t.btlsStatus) {
		out.Status.BackendTLSPolicies = append(out.Status.BackendTLSPolicies, BackendTLSPolicyStatus{NamespacedName: nn, Status: *t.btlsStatus[nn]})
	}
	for _, nn := range sortedNames(t.policyStatus) {
		out.Status.ClientCertPolicies = append(out.Status.ClientCertPolicies, ClientCertPolicyStatus{NamespacedName: nn, Status: *t.policyStatus[nn]})
	}
	return out
}

func sortedKeys[K comparable, V any](m map[K]V, compare func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compare)
	return keys
}

// routeStatusList is the status of the routes of kind, sorted by name,
// the last one translated for a name that came twice. Routes are
// translated in the order of Resources, which the sources sort by name:
// then the list is already in order, and is checked rather than sorted.
func (t *translator) routeStatusList(kind groupKind) []RouteStatus {
	out := t.routeStatus[kind]
	if len(out) == 0 {
		return nil
	}
	inOrder := true
	for i := 1; i < len(out) && inOrder; i++ {
		inOrder = compareRouteNames(out[i-1], out[i]) < 0
	}
	if inOrder {
		return out
	}
	slices.SortStableFunc(out, compareRouteNames)
	last := out[:0]
	for i, s := range out {
		if i+1 == len(out) || compareRouteNames(s, out[i+1]) != 0 {
			last = append(last, s)
		}
	}
	return last
}

func compareRouteNames(a, b RouteStatus) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

func sortedNames[V any](m map[types.NamespacedName]V) []types.NamespacedName {
	return sortedKeys(m, func(a, b types.NamespacedName) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
}
