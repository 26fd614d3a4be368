package translator

import (
	"reflect"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// A change usually touches one route, but a translation converted every
// route's rules again: at thousands of routes that was most of an edit's
// work and a second copy of every rule in memory until the old snapshot
// was dropped. So a translation leaves a Reuse for the next one: the final
// rules (after every stage) of each HTTPRoute on each listener it reached.
// The next translation takes them as they are for an HTTPRoute that did
// not change while every other input did not either (sameInputs): then
// converting the route again and running every later stage over it would
// give equal rules. What "did not change" means depends on the source
// (identityOf): an object from the API server is the same while its UID
// and resourceVersion are, which the API server changes with every change;
// an object from a file is the same only while it is the same object in
// memory, since the file provider decodes a changed file into new objects
// and a file may carry any resourceVersion.
//
// Only the rules are taken: attaching the route, its status and the
// listeners' attachedRoutes are computed every time, since they are
// cheap and depend on the other routes. The later stages skip the taken
// rules, which are shared with the serving snapshot and must not be
// written, and account for them instead: the BackendTLSPolicy stage
// replays what they reached the first time (listenerMemo), the
// ClientCertPolicy stage works it out again and checks each rule carries
// what it would give it (accountTaken).
//
// Time is the one input an object does not show: a ClientCertPolicy's
// retiring pins expire as it passes. The ClientCertPolicy stage compares
// each policy's requirement with the one the taken rules carry; if one
// differs, the translation is made again from scratch (Translate). Any
// other inconsistency found while replaying does the same: reuse can make
// a translation cheaper, never different.

// Reuse is what a translation leaves for the next one (Options.Previous).
type Reuse struct {
	inputs []identity
	opts   reuseOptions
	// routes are the memos of the HTTPRoutes, in the order of
	// Resources.HTTPRoutes, nil for a route none was kept for. The next
	// translation, given the routes in the same order, finds each memo at
	// the place after the last one it found (memoOf): a map by identity
	// was as large as the routes and made again on every translation.
	routes []*routeMemo
	// requirements are the ClientCertPolicy requirements the rules carry,
	// by policy, "namespace/name".
	requirements map[string]*snapshot.Requirement
	// sizes are the number of routes of each listener of the snapshot, by
	// name: the next translation makes room for as many at once rather
	// than growing the list route by route.
	sizes map[string]int
	// parentRefs are the parentRef values the memos' plans intern
	// (internRef); never written once handed on.
	parentRefs map[parentRefValue]*parentRefValue
	// sound are the builds the memos of routes without a problem share,
	// by kind and number of rules (see statusOf).
	sound map[soundBuild]*routeBuild
}

// soundBuild is all that tells apart the builds of routes whose rules and
// hostnames are all fine.
type soundBuild struct {
	kind  groupKind
	total int
}

// reuseOptions are the options a route's rules may depend on.
type reuseOptions struct {
	controllerName    gatewayv1.GatewayController
	servicePerGateway bool
	serviceNamespace  string
	versioned         bool
}

// identity names one state of an object: its kind (the nil pointer of its
// type) with its UID and resourceVersion when Options.Versioned says they
// are the API server's, else the object itself.
type identity struct {
	obj any
	uid types.UID
	rv  string
}

// object is a pointer to a Kubernetes object type.
type object[T any] interface {
	*T
	metav1.Object
}

// identityOf returns the identity of obj under opts.
func identityOf[T any, PT object[T]](obj PT, versioned bool) identity {
	if versioned {
		return identity{obj: PT(nil), uid: obj.GetUID(), rv: obj.GetResourceVersion()}
	}
	return identity{obj: obj}
}

// routeMemo is one HTTPRoute's translation: what its status needs of the
// converted rules, and its final rules on each listener.
type routeMemo struct {
	// id is the identity of the route the memo was made for.
	id identity
	// build is the route's build without its rules (statusOf); it is
	// shared, and never written.
	build     *routeBuild
	listeners []listenerEntry
	// parents are what the route's parentRefs came to (replay.go); set
	// once the route is translated, and never written after.
	parents []parentPlan
}

// listenerEntry is a route's memo on one listener. A route reaches a
// listener or two: a slice, not a map per route.
type listenerEntry struct {
	key memoListener
	lm  *listenerMemo
}

func (m *routeMemo) on(k memoListener) *listenerMemo {
	for _, e := range m.listeners {
		if e.key == k {
			return e.lm
		}
	}
	return nil
}

// memoListener names a listener across translations: its Gateway and
// section name. (The Gateway object itself is a new copy on every run of
// the Kubernetes provider.)
type memoListener struct {
	gw   types.NamespacedName
	name gatewayv1.SectionName
}

// listenerMemo is a route's final rules on one listener and what the later
// stages recorded for them in the policies' statuses.
type listenerMemo struct {
	rules []snapshot.Rule
	// reaches are the BackendTLSPolicy targets the rules' backends reached
	// (btlsAttachment.reach), for targets some policy has. What the
	// ClientCertPolicies governed is worked out again from the rules
	// (accountTaken), which also checks them.
	reaches []btlsReach
}

type btlsReach struct {
	gw  types.NamespacedName
	key btlsKey
}

// inputsOf lists every input object a route's rules may depend on, other
// than HTTPRoutes, so that any change, addition or removal shows. GRPCRoutes
// and TLSRoutes are in it: an HTTPRoute loses a hostname to an older route
// of another kind.
func inputsOf(res *resources.Resources, versioned bool) []identity {
	out := make([]identity, 0, 64)
	out = appendAll(out, res.GatewayClasses, versioned)
	out = appendAll(out, res.Gateways, versioned)
	out = appendAll(out, res.TLSRoutes, versioned)
	out = appendAll(out, res.GRPCRoutes, versioned)
	out = appendAll(out, res.ReferenceGrants, versioned)
	out = appendAll(out, res.BackendTLSPolicies, versioned)
	out = appendAll(out, res.ClientCertPolicies, versioned)
	out = appendAll(out, res.Services, versioned)
	out = appendAll(out, res.EndpointSlices, versioned)
	out = appendAll(out, res.Secrets, versioned)
	out = appendAll(out, res.ConfigMaps, versioned)
	out = appendAll(out, res.Namespaces, versioned)
	return out
}

// appendAll appends the identities of the objects of one kind, then one
// that ends the kind, so that objects moving between kinds cannot look
// the same.
func appendAll[T any, PT object[T]](out []identity, objs []PT, versioned bool) []identity {
	for _, o := range objs {
		out = append(out, identityOf(o, versioned))
	}
	return append(out, identity{obj: PT(nil), rv: "end"})
}

func optionsOf(o Options) reuseOptions {
	return reuseOptions{controllerName: o.ControllerName, servicePerGateway: o.ServicePerGateway,
		serviceNamespace: o.ServiceNamespace, versioned: o.Versioned}
}

// sameInputs reports whether a translation of inputs and opts may take
// the rules prev left.
func (prev *Reuse) sameInputs(inputs []identity, opts reuseOptions) bool {
	return prev != nil && prev.opts == opts && slices.Equal(prev.inputs, inputs)
}

// memoOf returns the memo the previous translation left for route r, of
// identity id, or nil. It is asked for each route in turn.
// Routes come in the order they came last time: the memo of r, if any,
// is at the place after the last one found (cursor), unless a route was
// added or removed before it; only then are the memos indexed by
// identity (byIdentity). A memo found anywhere is r's: the identities are
// equal.
func (t *translator) memoOf(r *gatewayv1.HTTPRoute, id identity) *routeMemo {
	prev := t.prev
	if prev == nil {
		return nil
	}
	if c := t.cursor; c < len(prev.routes) {
		m := prev.routes[c]
		if m != nil && m.id == id {
			t.cursor++
			return m
		}
		if m == nil || m.sameRoute(r, t.opts.Versioned) {
			// r's own place: r changed, or had no memo.
			t.cursor++
			return nil
		}
	}
	j, ok := t.byIdentity()[id]
	if !ok {
		return nil // a route added, or changed after one added
	}
	t.cursor = j + 1
	return prev.routes[j]
}

// sameRoute reports whether the memo was made for a state of route r:
// the same UID from the API server, else the same namespace and name.
func (m *routeMemo) sameRoute(r *gatewayv1.HTTPRoute, versioned bool) bool {
	if versioned {
		return m.id.uid != "" && m.id.uid == r.UID
	}
	old, ok := m.id.obj.(*gatewayv1.HTTPRoute)
	return ok && old.Namespace == r.Namespace && old.Name == r.Name
}

// byIdentity indexes the previous translation's memos by identity, once,
// when the routes are out of step with them.
func (t *translator) byIdentity() map[identity]int {
	if t.prevIndex == nil {
		t.prevIndex = make(map[identity]int, len(t.prev.routes))
		for j, m := range t.prev.routes {
			if m != nil {
				t.prevIndex[m.id] = j
			}
		}
	}
	return t.prevIndex
}

// buildHTTPRoute is the build of route r, of identity id and at place at
// of Resources.HTTPRoutes: taken from m, the previous translation's memo
// of it, when there is one, else converted.
func (t *translator) buildHTTPRoute(r *gatewayv1.HTTPRoute, id identity, at int, m *routeMemo) *routeBuild {
	if m != nil {
		b := takenBuild(r, id, at, m)
		return &b
	}
	b := t.buildRoute(r)
	b.obj, b.id, b.at = r, id, at
	return b
}

// takenBuild is the build of route r, of identity id and at place at,
// taken from m, its memo: everything but the rules, which each listener
// takes from the memo (rulesForListener).
func takenBuild(r *gatewayv1.HTTPRoute, id identity, at int, m *routeMemo) routeBuild {
	b := *m.build
	b.obj, b.id, b.at, b.memo = r, id, at, m
	return b
}

// keyOfListener is l's name across translations.
func keyOfListener(l *listenerState) memoListener {
	return memoListener{gw: l.gatewayName(), name: l.spec.Name}
}

// remember records, for the next translation, that route b's rules on
// listener l are lm's. A route whose rules were all taken keeps its memo;
// one converted again, on some listener or all, gets a new one.
func (t *translator) remember(b *routeBuild, l *listenerState, lm *listenerMemo) {
	m := t.next.routes[b.at]
	switch {
	case m == nil && b.memo != nil && b.memo.on(keyOfListener(l)) == lm:
		t.next.routes[b.at] = b.memo
		return
	case m == nil:
		m = &routeMemo{id: b.id, build: t.next.statusOf(b)}
		t.next.routes[b.at] = m
	case m == b.memo:
		if m.on(keyOfListener(l)) == lm {
			return
		}
		// Taken on one listener, converted on this one: a memo of its own,
		// the previous translation's stays as it was.
		m = &routeMemo{id: m.id, build: m.build, listeners: slices.Clone(m.listeners)}
		t.next.routes[b.at] = m
	}
	m.listeners = append(m.listeners, listenerEntry{key: keyOfListener(l), lm: lm})
}

// statusOf is b without its rules and the links to where they come
// from: what a memo keeps. Most routes have no problem, and their builds
// differ only in kind and number of rules: their memos share one, rather
// than keep a copy per route (2 MiB at 10,000 routes).
func (next *Reuse) statusOf(b *routeBuild) *routeBuild {
	out := *b
	out.rules, out.rulesGiven, out.obj, out.id, out.at, out.memo = nil, false, nil, identity{}, 0, nil
	key := soundBuild{kind: b.kind, total: b.total}
	// Compared whole, so that a field added to routeBuild is never lost
	// by sharing.
	if !reflect.DeepEqual(out, routeBuild{kind: key.kind, total: key.total}) {
		return &out
	}
	return memoized(&next.sound, key, func() *routeBuild { return &out })
}

// noteTaken records that the rules of route i of listener snap of the
// snapshot were taken from lm. The list per listener runs parallel to its
// routes, up to the last one taken: an index walk finds them where a map
// by rule was as large as the routes and rebuilt on every translation.
func (t *translator) noteTaken(snap, i int, lm *listenerMemo) {
	if t.taken == nil {
		t.taken = make([][]*listenerMemo, len(t.snapshot.Listeners))
	}
	list := t.taken[snap]
	if list == nil {
		list = make([]*listenerMemo, 0, cap(t.snapshot.Listeners[snap].Routes))
	}
	for len(list) < i {
		list = append(list, nil)
	}
	t.taken[snap] = append(list, lm)
	t.tookAny = true
}

// takenMemo returns the memo of route i of listener snap of the snapshot
// when its rules were taken from the previous translation, nil when this
// one converted them.
func (t *translator) takenMemo(snap, i int) *listenerMemo {
	if snap >= len(t.taken) || i >= len(t.taken[snap]) {
		return nil
	}
	return t.taken[snap][i]
}

// freshMemo returns the memo being recorded for a route converted by this
// translation, nil when it is not kept.
func (t *translator) freshMemo(r *snapshot.Route) *listenerMemo {
	if len(r.Rules) == 0 {
		return nil
	}
	return t.recording[&r.Rules[0]]
}

// checkRequirement compares a ClientCertPolicy's requirement with the one
// the taken rules carry. Equal, the policy keeps the previous requirement
// object, so that every rule it governs shares one; different (time
// changed it), the taken rules are out of date and the translation is
// made again.
func (t *translator) checkRequirement(name string, req *snapshot.Requirement) *snapshot.Requirement {
	t.next.requirements[name] = req
	if t.prev == nil || req == nil {
		return req
	}
	old, ok := t.prev.requirements[name]
	if !ok || !reflect.DeepEqual(old, req) {
		if t.tookAny {
			t.reuseFailed = true
		}
		return req
	}
	t.next.requirements[name] = old
	return old
}

// makeRoom gives each listener of the snapshot room for the routes it had
// in the previous translation, whatever its inputs.
func (t *translator) makeRoom() {
	if t.opts.Previous == nil {
		return
	}
	for i := range t.snapshot.Listeners {
		l := &t.snapshot.Listeners[i]
		if n := t.opts.Previous.sizes[l.Name]; n > 0 && l.Routes == nil {
			l.Routes = make([]snapshot.Route, 0, n)
		}
	}
}

// recordSizes notes the number of routes of each listener for the next
// translation (makeRoom).
func (t *translator) recordSizes() {
	t.next.sizes = make(map[string]int, len(t.snapshot.Listeners))
	for _, l := range t.snapshot.Listeners {
		t.next.sizes[l.Name] = len(l.Routes)
	}
}
