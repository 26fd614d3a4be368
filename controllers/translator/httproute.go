package translator

import (
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// translateHTTPRoutes attaches every HTTPRoute to the listeners its
// parentRefs select, adds it to those listeners in the snapshot, and
// writes its status for each parentRef naming a Gateway of ours.
func (t *translator) translateHTTPRoutes() {
	t.makeRoom()
	for at, r := range t.res.HTTPRoutes {
		id := identityOf(r, t.opts.Versioned)
		m := t.memoOf(r, id)
		if m != nil && m.parents != nil {
			t.replayHTTPRoute(takenBuild(r, id, at, m), m.parents)
			continue
		}
		t.translateRoute(httpRouteHead(r), func() *routeBuild { return t.buildHTTPRoute(r, id, at, m) })
	}
}

// translateRoute attaches a route of any kind to the listeners its
// parentRefs select and records its status for the parentRefs naming a
// Gateway of ours. build converts the rules, once, when there is one.
func (t *translator) translateRoute(h routeHead, build func() *routeBuild) {
	var b *routeBuild
	var buf [1]gatewayv1.RouteParentStatus
	parents, sound := buf[:0], true
	var plan []parentPlan
	var done addedTo
	for k, ref := range h.parents {
		ls, ours := t.gatewayOf(h.meta.Namespace, ref)
		if !ours {
			continue
		}
		if b == nil {
			b = build()
		}
		res := t.withoutKindConflicts(h, t.attach(h, ref, ls))
		if res.rejected.reason == "" && b.badHostname != "" {
			res = rejectedParent(gatewayv1.RouteReasonUnsupportedValue, b.badHostname)
		}
		if res.rejected.reason == "" && b.allInvalid() {
			res = rejectedParent(b.invalidReason, "no rule can be served: "+strings.Join(b.invalid, "; "))
		}
		for _, a := range res.attached {
			t.addRoute(snapshot.Route{Kind: b.snapshotKind(), Namespace: h.meta.Namespace, Name: h.meta.Name, CreationTimestamp: h.meta.CreationTimestamp.UTC()}, a, b, &done)
		}
		sound = sound && t.soundParent(res, b)
		parents = append(parents, t.parentStatus(h.meta.Generation, ref, res, b))
		if b.obj != nil {
			plan = append(plan, t.planOf(k, t.internRef(ref), res))
		}
	}
	t.setRouteStatus(h.kind, h.meta, t.keptParents(h.meta.Generation, parents, sound))
	if b != nil && b.obj != nil {
		t.rememberPlan(b, plan)
	}
}

// keptParents is parents, the statuses of a route's parentRefs, as the
// route's status keeps them; sound says none of them has a problem
// (soundParent). Most routes have one parentRef, mostly to the same
// Gateway as other routes, with nothing wrong: their statuses are equal,
// so routes of one generation and parentRef share one list (Status says
// statuses are read, never written) rather than each allocating one on
// every translation. Otherwise parents, which may be on the caller's
// stack, is copied.
func (t *translator) keptParents(gen int64, parents []gatewayv1.RouteParentStatus, sound bool) []gatewayv1.RouteParentStatus {
	switch {
	case len(parents) == 0:
		return nil
	case len(parents) == 1 && sound:
		return t.soundParentList(gen, t.internRef(parents[0].ParentRef), func() gatewayv1.RouteParentStatus { return parents[0] })
	}
	return slices.Clip(slices.Clone(parents))
}

// soundParentList is the status list routes of generation gen with one
// parentRef, of value ref, and nothing wrong share; status makes its
// entry when it is the first.
func (t *translator) soundParentList(gen int64, ref *parentRefValue, status func() gatewayv1.RouteParentStatus) []gatewayv1.RouteParentStatus {
	return memoized(&t.soundParents, soundParentKey{gen: gen, ref: ref}, func() []gatewayv1.RouteParentStatus {
		return []gatewayv1.RouteParentStatus{status()}
	})
}

// soundParentKey tells apart the statuses of parentRefs without a
// problem: all that differs between them is the route's generation and
// the parentRef, by its interned value (internRef), which compares and
// hashes as a pointer, without reading every route's parentRef strings.
type soundParentKey struct {
	gen int64
	ref *parentRefValue
}

// internRef returns the one pointer to ref's value that this translation,
// and those after it, give every parentRef of that value. The values are
// kept in a map each translation leaves the next (Reuse.parentRefs); the
// map is read-only once handed on, so a translation that meets a new
// value adds it to a copy of its own.
func (t *translator) internRef(ref gatewayv1.ParentReference) *parentRefValue {
	v := valueOfParentRef(ref)
	if p, ok := t.parentRefs[v]; ok {
		return p
	}
	if !t.ownParentRefs {
		t.parentRefs, t.ownParentRefs = maps.Clone(t.parentRefs), true
		if t.parentRefs == nil {
			t.parentRefs = map[parentRefValue]*parentRefValue{}
		}
	}
	p := new(parentRefValue) // not &v: v would be allocated on every call
	*p = v
	t.parentRefs[v] = p
	return p
}

// parentRefValue is a ParentReference by value, comparable: each optional
// field with whether it is set. Unlike parentRefKey, it tells apart every
// two parentRefs that differ. TestParentRefValueHasEveryField fails when
// ParentReference gains a field this does not have.
type parentRefValue struct {
	name                             gatewayv1.ObjectName
	group, kind, namespace, section  string
	hasGroup, hasKind, hasNS, hasSec bool
	hasPort                          bool
	port                             gatewayv1.PortNumber
}

func valueOfParentRef(ref gatewayv1.ParentReference) parentRefValue {
	k := parentRefValue{name: ref.Name}
	k.group, k.hasGroup = valueOf(ref.Group)
	k.kind, k.hasKind = valueOf(ref.Kind)
	k.namespace, k.hasNS = valueOf(ref.Namespace)
	k.section, k.hasSec = valueOf(ref.SectionName)
	if ref.Port != nil {
		k.port, k.hasPort = *ref.Port, true
	}
	return k
}

// valueOf is the string *p, and whether p is set.
func valueOf[S ~string](p *S) (string, bool) {
	if p == nil {
		return "", false
	}
	return string(*p), true
}

// setRouteStatus records the parent statuses of a route, when it has
// some.
func (t *translator) setRouteStatus(kind groupKind, meta *metav1.ObjectMeta, parents []gatewayv1.RouteParentStatus) {
	if len(parents) == 0 {
		return
	}
	list := t.routeStatus[kind]
	if list == nil {
		list = make([]RouteStatus, 0, t.routesOfKind(kind))
	}
	t.routeStatus[kind] = append(list, RouteStatus{NamespacedName: nameOf(meta.Namespace, meta.Name), Status: gatewayv1.RouteStatus{Parents: parents}})
}

// routesOfKind is the number of routes of kind, to size their maps.
func (t *translator) routesOfKind(kind groupKind) int {
	switch kind {
	case kindHTTPRoute:
		return len(t.res.HTTPRoutes)
	case kindGRPCRoute:
		return len(t.res.GRPCRoutes)
	}
	return len(t.res.TLSRoutes)
}

// addRoute adds an accepted route (head names it: kind, namespace, name,
// creation time) to a listener: counted in its
// attachedRoutes and, if the listener is served, put in the snapshot. A
// route that reaches one listener through several parentRefs is added
// once, with the union of its hostnames.
//
// Each listener gets its own copy of the rules (see listenerRules), so
// later stages can set per-listener and per-Gateway things on them.
func (t *translator) addRoute(head snapshot.Route, a attachment, b *routeBuild, done *addedTo) {
	if i, ok := done.find(a.l); ok {
		if i >= 0 {
			route := &t.snapshot.Listeners[a.l.snap].Routes[i]
			route.Hostnames = unionHostnames(route.Hostnames, a.hostnames)
		}
		return
	}
	a.l.status.AttachedRoutes++
	if a.l.snap < 0 {
		done.add(a.l, -1)
		return
	}
	sl := &t.snapshot.Listeners[a.l.snap]
	done.add(a.l, len(sl.Routes))
	rules, taken := t.rulesForListener(b, a.l)
	head.Hostnames, head.Rules = a.hostnames, rules
	if taken != nil {
		t.noteTaken(a.l.snap, len(sl.Routes), taken)
	}
	sl.Routes = append(sl.Routes, head)
}

// addedTo records the listeners a route was added to, with the index of
// its snapshot route there (-1 for a listener not in the snapshot). A
// route has a parentRef or two: the first two are kept in place, so that
// adding a route allocates nothing for them (a slice of its own was an
// allocation per route and translation).
type addedTo struct {
	n     int
	first [2]addedEntry
	more  []addedEntry
}

type addedEntry struct {
	l *listenerState
	i int
}

func (d *addedTo) find(l *listenerState) (int, bool) {
	for _, e := range d.first[:d.n] {
		if e.l == l {
			return e.i, true
		}
	}
	for _, e := range d.more {
		if e.l == l {
			return e.i, true
		}
	}
	return 0, false
}

func (d *addedTo) add(l *listenerState, i int) {
	if d.n < len(d.first) {
		d.first[d.n] = addedEntry{l, i}
		d.n++
		return
	}
	d.more = append(d.more, addedEntry{l, i})
}

// rulesForListener returns the rules of route b for one more listener l
// of the snapshot: the final rules of the previous translation when they
// can be taken (reuse.go), with the memo they come from, else converted
// ones, with no memo. The first listener takes the converted rules
// themselves; each other one gets a copy, made while
// the rules are still as built: later stages write to a listener's rules
// only after every route is added. Most routes reach one listener, and
// copying for it too made a second set of rules per route per
// translation.
func (t *translator) rulesForListener(b *routeBuild, l *listenerState) ([]snapshot.Rule, *listenerMemo) {
	if b.memo != nil {
		if lm := b.memo.on(keyOfListener(l)); lm != nil {
			t.remember(b, l, lm)
			return lm.rules, lm
		}
	}
	if b.rules == nil && b.memo != nil {
		b.rules = t.buildRoute(b.obj).rules
	}
	rules := b.rules
	if b.rulesGiven {
		rules = listenerRules(b.rules)
	}
	b.rulesGiven = true
	if b.obj != nil && len(rules) > 0 {
		lm := &listenerMemo{rules: rules}
		t.recording[&rules[0]] = lm
		t.remember(b, l, lm)
	}
	return rules, nil
}

// listenerRules copies a route's rules for one listener, with everything a
// later stage writes to: the rule itself (its client certificate
// requirement), its backends and its mirror backends (their TLS and client
// certificate, which depend on the Gateway). The rest is shared read-only.
func listenerRules(rules []snapshot.Rule) []snapshot.Rule {
	out := slices.Clone(rules)
	for i := range out {
		out[i].Backends = slices.Clone(out[i].Backends)
		out[i].Filters = slices.Clone(out[i].Filters)
		for j, f := range out[i].Filters {
			if f.RequestMirror != nil {
				own := *f.RequestMirror
				out[i].Filters[j].RequestMirror = &own
			}
		}
	}
	return out
}

// unionHostnames merges two hostname lists of one route on one listener;
// an empty list means every hostname, which absorbs the other.
func unionHostnames(a, b []string) []string {
	if len(a) == 0 || len(b) == 0 {
		return nil
	}
	for _, h := range b {
		if !slices.Contains(a, h) {
			a = append(a, h)
		}
	}
	return a
}

// parentStatus is the route's status for one parentRef: Accepted,
// ResolvedRefs and, when some rules could not be served, PartiallyInvalid.
// The parentRef is copied as written, so the status writer can match it
// with the spec entry.
func (t *translator) parentStatus(gen int64, ref gatewayv1.ParentReference, res parentResult, b *routeBuild) gatewayv1.RouteParentStatus {
	ps := gatewayv1.RouteParentStatus{ParentRef: ref, ControllerName: t.opts.ControllerName}
	if t.soundParent(res, b) {
		ps.Conditions = t.soundConditions(gen)
	} else {
		ps.Conditions = t.routeConditions(gen, res, b)
	}
	return ps
}

// soundParent reports whether the status of a parentRef of route b that
// came to res has no problem, and so is written from soundConditions.
func (t *translator) soundParent(res parentResult, b *routeBuild) bool {
	return res.rejected.reason == "" && len(b.refs) == 0 && len(b.invalid) == 0 && !t.opts.Now.IsZero()
}

// soundConditions are the conditions of a parentRef of a route of
// generation gen without a problem. Every such parentRef of a translation
// shares one list (Status says statuses are read, never written): at
// thousands of routes, each allocating the same conditions on every
// translation was most of what the collector cleared after an edit of
// one. The list has no room to grow. Without a time, each condition takes
// the clock's when it is set, so nothing is shared then.
func (t *translator) soundConditions(gen int64) []metav1.Condition {
	return memoized(&t.sound, gen, func() []metav1.Condition {
		return slices.Clip(t.routeConditions(gen, parentResult{}, &routeBuild{}))
	})
}

// routeConditions are the conditions of one parentRef of route b, which
// res is what it came to.
func (t *translator) routeConditions(gen int64, res parentResult, b *routeBuild) []metav1.Condition {
	conds := make([]metav1.Condition, 0, 3)
	if res.rejected.reason != "" {
		setCondition(t, &conds, gen, gatewayv1.RouteConditionAccepted, metav1.ConditionFalse, res.rejected.reason, res.rejected.message)
	} else {
		setCondition(t, &conds, gen, gatewayv1.RouteConditionAccepted, metav1.ConditionTrue, gatewayv1.RouteReasonAccepted, "route is attached")
	}
	if len(b.refs) > 0 {
		msgs := make([]string, len(b.refs))
		for i, p := range b.refs {
			msgs[i] = p.message
		}
		setCondition(t, &conds, gen, gatewayv1.RouteConditionResolvedRefs, metav1.ConditionFalse, b.refs[0].reason, strings.Join(msgs, "; "))
	} else {
		setCondition(t, &conds, gen, gatewayv1.RouteConditionResolvedRefs, metav1.ConditionTrue, gatewayv1.RouteReasonResolvedRefs, "all references resolved")
	}
	if res.rejected.reason == "" && len(b.invalid) > 0 {
		setCondition(t, &conds, gen, gatewayv1.RouteConditionPartiallyInvalid, metav1.ConditionTrue, gatewayv1.RouteReasonUnsupportedValue, b.partialMessage())
	}
	return conds
}
