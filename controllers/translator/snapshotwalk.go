package translator

import (
	"slices"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// walkRules calls fn for every rule of every route of every listener in
// the snapshot being built, with pointers into it so fn can set fields.
// The later stages use it to add what policies ask of the rules the
// earlier stages built.
func (t *translator) walkRules(fn func(l *snapshot.Listener, r *snapshot.Route, rule *snapshot.Rule)) {
	for i := range t.snapshot.Listeners {
		l := &t.snapshot.Listeners[i]
		for j := range l.Routes {
			r := &l.Routes[j]
			for k := range r.Rules {
				fn(l, r, &r.Rules[k])
			}
		}
	}
}

// walkBackends calls fn for every backend in the snapshot being built: the
// backends of each rule and the backends of its RequestMirror filters,
// which are Services too and connect the same way.
//
// Each rule's backends and mirrors are copied before fn sees them. The
// route stage gives each listener its own copy of a rule, but a shallow
// one: the backend slices behind it may be shared between listeners, and
// so between Gateways. fn sets per-Gateway things (the backend client
// certificate), so it must write to backends of this listener alone.
func (t *translator) walkBackends(fn func(l *snapshot.Listener, b *snapshot.Backend)) {
	t.walkRules(func(l *snapshot.Listener, _ *snapshot.Route, rule *snapshot.Rule) {
		rule.Backends = slices.Clone(rule.Backends)
		for i := range rule.Backends {
			fn(l, &rule.Backends[i].Backend)
		}
		rule.Filters = slices.Clone(rule.Filters)
		for i := range rule.Filters {
			if m := rule.Filters[i].RequestMirror; m != nil {
				own := *m
				rule.Filters[i].RequestMirror = &own
				fn(l, &own.Backend)
			}
		}
	})
}
