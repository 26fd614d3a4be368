package snapshot

// The walks below are the one way to visit what a snapshot holds. They
// pass pointers into the snapshot, so a caller that builds one (the
// translator) may set fields, and a caller that reads one (the data plane)
// sees every backend, mirror targets included, without its own loops.

// EachRule calls fn for every rule of every route of l.
func (l *Listener) EachRule(fn func(r *Route, rule *Rule)) {
	for i := range l.Routes {
		r := &l.Routes[i]
		for j := range r.Rules {
			fn(r, &r.Rules[j])
		}
	}
}

// EachBackend calls fn for every backend of the rule: the backends that
// share its traffic, then the targets of its RequestMirror filters, which
// are Services too and connect the same way.
func (rule *Rule) EachBackend(fn func(b *Backend)) {
	for i := range rule.Backends {
		fn(&rule.Backends[i].Backend)
	}
	for i := range rule.Filters {
		if m := rule.Filters[i].RequestMirror; m != nil {
			fn(&m.Backend)
		}
	}
}

// EachRoute calls fn for every route of every listener: a route attached
// to several listeners is visited once for each, as each holds its own
// copy.
func (s *Snapshot) EachRoute(fn func(l *Listener, r *Route)) {
	for i := range s.Listeners {
		l := &s.Listeners[i]
		for j := range l.Routes {
			fn(l, &l.Routes[j])
		}
	}
}

// EachRule calls fn for every rule of every route of every listener.
func (s *Snapshot) EachRule(fn func(l *Listener, r *Route, rule *Rule)) {
	s.EachRoute(func(l *Listener, r *Route) {
		for i := range r.Rules {
			fn(l, r, &r.Rules[i])
		}
	})
}

// EachBackend calls fn for every backend of every rule, mirror targets
// included (see Rule.EachBackend), with the listener it serves.
func (s *Snapshot) EachBackend(fn func(l *Listener, b *Backend)) {
	s.EachRule(func(l *Listener, _ *Route, rule *Rule) {
		rule.EachBackend(func(b *Backend) { fn(l, b) })
	})
}
