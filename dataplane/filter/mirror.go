package filter

import (
	"math"
	"math/rand/v2"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// Mirror is a compiled RequestMirror filter: a backend that receives a copy
// of a share of the rule's requests, whose answers are ignored.
type Mirror struct {
	// Backend receives the copies.
	Backend snapshot.Backend
	// Percent of requests mirrored, 0 to 100; nil mirrors every request.
	Percent *float64
}

// Sample decides, independently for each call, whether this request is
// mirrored. It uses the goroutine-safe global generator of math/rand/v2:
// the choice needs to be fair, not secret.
func (m Mirror) Sample() bool {
	if m.Percent == nil {
		return true
	}
	switch p := *m.Percent; {
	case p <= 0:
		return false
	case p >= 100:
		return true
	default:
		return rand.Float64()*100 < p
	}
}

// Mirrors returns the rule's mirrors in filter order. The handler calls
// Sample on each and sends the copy after ModifyRequest, so a mirror sees
// the request as the backend does. The slice is shared by every request:
// do not modify it.
func (c *Chain) Mirrors() []Mirror {
	if c == nil {
		return nil
	}
	return c.mirrors
}

// compileMirror checks m. A mirror whose backend did not resolve is dropped
// without an error: the Gateway API says such a reference "must be dropped
// from the Gateway", and the translator reports it on the route's
// ResolvedRefs condition.
func compileMirror(m *snapshot.Mirror, field string, p *problems) (Mirror, bool) {
	out := Mirror{Backend: m.Backend}
	if m.Percent != nil {
		pct := *m.Percent
		if math.IsNaN(pct) || pct < 0 || pct > 100 {
			p.add(field+".percent", "%v is not between 0 and 100", pct)
			return Mirror{}, false
		}
		out.Percent = &pct // a copy, so the Chain does not alias the snapshot
	}
	if m.Backend.Invalid != "" {
		return Mirror{}, false
	}
	return out, true
}
