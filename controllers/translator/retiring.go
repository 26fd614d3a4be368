package translator

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// renewal is what a policy's renewal overlap resolves to: the pins its PEM
// sources hold now, and the pins they held before that are still within
// keepPrevious.
type renewal struct {
	pemPins  []v1alpha1.SourcePin
	retiring []v1alpha1.RetiringPin
}

// pemSource is one pinsFrom entry read as PEM this translation.
type pemSource struct {
	keep time.Duration
	pins []pin.Pin
}

// sourceField names spec.pinsFrom[i] in status.
func sourceField(i int) string { return fmt.Sprintf("spec.pinsFrom[%d]", i) }

// keepPrevious is spec.pinsFrom[].keepPrevious, defaulted.
func keepPrevious(src v1alpha1.PinSource) time.Duration {
	if src.KeepPrevious == nil {
		return v1alpha1.DefaultKeepPrevious
	}
	return src.KeepPrevious.Duration
}

// resolveRenewal computes the renewal overlap from the policy's previous
// status, which is the memory of what its PEM sources held: the
// translator stays a function of its inputs, and every replica, and a new
// leader after a restart, reads the same memory from the API server.
//
// A pin keeps retiring while its pinsFrom entry still exists, is still
// PEM and keeps previous pins, and it is not in force again; its expiry
// never exceeds now plus the entry's keepPrevious, which bounds what a
// shortened keepPrevious, or a status edited by hand, can keep. A pin of
// the previous PEM pins that is in force no more starts retiring now.
// Expiries are whole seconds, as status stores them, so the status read
// back equals the status written.
func (t *translator) resolveRenewal(prev *v1alpha1.ClientCertPolicyStatus, sources map[int]pemSource, current *pinSet) renewal {
	var r renewal
	for i := range maxPinsFrom(sources) {
		if s, ok := sources[i]; ok {
			for _, p := range s.pins {
				r.pemPins = append(r.pemPins, v1alpha1.SourcePin{Pin: p.String(), Source: sourceField(i)})
			}
		}
	}
	kept := map[string]bool{}
	for _, old := range prev.RetiringPins {
		r.retire(t.opts.Now, old.SourcePin, old.Expires.Time, sources, current, kept)
	}
	for _, old := range prev.PEMPins {
		r.retire(t.opts.Now, old, time.Time{}, sources, current, kept)
	}
	return r
}

// maxPinsFrom is one past the largest index in sources.
func maxPinsFrom(sources map[int]pemSource) int {
	n := 0
	for i := range sources {
		n = max(n, i+1)
	}
	return n
}

// retire adds old to the retiring pins if it qualifies (see
// resolveRenewal). A zero expires means it starts retiring now.
func (r *renewal) retire(now time.Time, old v1alpha1.SourcePin, expires time.Time, sources map[int]pemSource, current *pinSet, kept map[string]bool) {
	p, err := pin.ParseLine(old.Pin)
	if err != nil || kept[p.String()] || current.seen[p.String()] {
		return
	}
	src, ok := sourceByField(old.Source, sources)
	if !ok || src.keep <= 0 {
		return
	}
	limit := now.Add(src.keep).Truncate(time.Second)
	if expires.IsZero() || expires.After(limit) {
		expires = limit
	}
	if !now.Before(expires) {
		return
	}
	kept[p.String()] = true
	r.retiring = append(r.retiring, v1alpha1.RetiringPin{
		SourcePin: v1alpha1.SourcePin{Pin: p.String(), Source: old.Source},
		Expires:   metav1.NewTime(expires),
	})
}

// sourceByField finds the PEM source a status entry names.
func sourceByField(field string, sources map[int]pemSource) (pemSource, bool) {
	var i int
	if _, err := fmt.Sscanf(field, "spec.pinsFrom[%d]", &i); err != nil || sourceField(i) != field {
		return pemSource{}, false
	}
	s, ok := sources[i]
	return s, ok
}

// keptWhileInvalid is the renewal memory of a policy that cannot be used
// this translation: carried over unchanged but for expired pins, so a
// source that is briefly broken during a renewal does not forget the
// certificate it held before.
func (t *translator) keptWhileInvalid(prev *v1alpha1.ClientCertPolicyStatus) renewal {
	r := renewal{pemPins: prev.PEMPins}
	for _, rp := range prev.RetiringPins {
		if t.opts.Now.Before(rp.Expires.Time) {
			r.retiring = append(r.retiring, rp)
		}
	}
	return r
}

// snapshotRetiring is the retiring pins as the data plane takes them.
func (r renewal) snapshotRetiring() []snapshot.RetiringPin {
	var out []snapshot.RetiringPin
	for _, rp := range r.retiring {
		p, err := pin.ParseLine(rp.Pin)
		if err == nil {
			out = append(out, snapshot.RetiringPin{Pin: p, Expires: rp.Expires.Time})
		}
	}
	return out
}
