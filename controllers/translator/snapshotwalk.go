package translator

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// eachServedListener calls fn for every listener the gateway stage put in
// the snapshot, with the listener's state, oldest Gateway first. The later
// stages read the Gateway and section name from that state, never back
// out of the snapshot's strings.
func (t *translator) eachServedListener(fn func(ls *listenerState, l *snapshot.Listener)) {
	for _, gw := range t.gateways {
		for _, ls := range t.listeners[nameOf(gw.Namespace, gw.Name)] {
			if ls.snap >= 0 {
				fn(ls, &t.snapshot.Listeners[ls.snap])
			}
		}
	}
}

// eachRule calls fn for every rule in the snapshot being built, with the
// state of the listener it is attached to and pointers into the snapshot,
// so fn can add what policies ask of it. Rules taken from the previous
// translation (reuse.go) are left out: they are final, and shared with
// the snapshot that serves, so nothing may write to them; eachTaken walks
// their routes for the stages to account for them.
func (t *translator) eachRule(fn func(ls *listenerState, r *snapshot.Route, rule *snapshot.Rule)) {
	t.eachServedListener(func(ls *listenerState, l *snapshot.Listener) {
		for i := range l.Routes {
			r := &l.Routes[i]
			if t.takenMemo(ls.snap, i) != nil {
				continue
			}
			for j := range r.Rules {
				fn(ls, r, &r.Rules[j])
			}
		}
	})
}

// eachTaken calls fn for every route whose rules were taken from the
// previous translation, with the memo they came from.
func (t *translator) eachTaken(fn func(ls *listenerState, r *snapshot.Route, lm *listenerMemo)) {
	if !t.tookAny {
		return
	}
	t.eachServedListener(func(ls *listenerState, l *snapshot.Listener) {
		for i := range l.Routes {
			if lm := t.takenMemo(ls.snap, i); lm != nil {
				fn(ls, &l.Routes[i], lm)
			}
		}
	})
}

// eachBackend calls fn for every backend in the snapshot being built,
// mirror targets included, but those of taken rules (see eachRule), with
// the route it belongs to. Every listener's rules, backends and mirrors
// are its own (the route stage copies them per listener), so fn may set
// per-Gateway things such as the backend client certificate.
//
// Backends of Passthrough listeners are left out: the gateway never opens
// TLS to them (the client's TLS passes through untouched), so backend TLS
// and the Gateway's client certificate do not apply.
func (t *translator) eachBackend(fn func(ls *listenerState, r *snapshot.Route, b *snapshot.Backend)) {
	t.eachRule(func(ls *listenerState, r *snapshot.Route, rule *snapshot.Rule) {
		if !ls.passthrough() {
			rule.EachBackend(func(b *snapshot.Backend) { fn(ls, r, b) })
		}
	})
}

// gatewayName is the name of the Gateway that owns the listener.
func (l *listenerState) gatewayName() types.NamespacedName {
	return nameOf(l.gw.Namespace, l.gw.Name)
}
