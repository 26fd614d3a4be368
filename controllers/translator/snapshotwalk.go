package translator

import "github.com/certgate/certgate/dataplane/snapshot"

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
// Every listener's rules, backends and mirrors are its own (the route
// stage copies them per listener), so fn may set per-Gateway things such
// as the backend client certificate.
func (t *translator) walkBackends(fn func(l *snapshot.Listener, b *snapshot.Backend)) {
	t.walkRules(func(l *snapshot.Listener, _ *snapshot.Route, rule *snapshot.Rule) {
		for i := range rule.Backends {
			fn(l, &rule.Backends[i].Backend)
		}
		for i := range rule.Filters {
			if m := rule.Filters[i].RequestMirror; m != nil {
				fn(l, &m.Backend)
			}
		}
	})
}
