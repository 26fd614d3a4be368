package dataplane

import (
	"net"
	"net/http"
)

// TakesDirectPath reports whether r, sent to the socket on port, would
// take the direct path: what the tests that compare it with the reverse
// proxy check they are comparing.
func (d *Dataplane) TakesDirectPath(port int, r *http.Request) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.sockets {
		if s.ln.Addr().(*net.TCPAddr).Port != port {
			continue
		}
		res := s.config.Load().resolve(r)
		if res.status != 0 {
			return false
		}
		_, rule := res.rule()
		for _, t := range rule.backends.targets {
			if t == nil || t.directFor(rule, r) == nil {
				return false
			}
		}
		return len(rule.backends.targets) > 0
	}
	return false
}
