package clientcert

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/dataplane/trust"
)

// Requirement is a snapshot.Requirement compiled for checking requests:
// pins in a set, CA certificates in a pool. It is immutable, and its
// address identifies one configuration of a policy: the chain verification
// cached in a Peer is keyed by it, so a new configuration verifies again.
type Requirement struct {
	policy  string
	mode    snapshot.RequirementMode
	forward snapshot.ForwardClientCert
	// problem, when not empty, is why the requirement rejects everything.
	problem string
	// guardOff turns the path confusion guard off for the rules the
	// requirement governs. The zero value keeps it on, so a requirement
	// that failed to compile keeps it too.
	guardOff bool

	pins         *pin.Set       // nil: no pin check
	retiring     []retiringPin  // widen pins until their expiry; nil without pins
	roots        *x509.CertPool // nil: no chain check
	sans         []snapshot.SANMatch
	allowExpired bool
}

// Compile compiles a requirement. It never fails: anything it cannot use
// (the source marked Invalid, an unknown mode, an unparsable CA bundle, a
// malformed pin, no pins and no CA at all) gives a requirement whose Check
// returns ReasonPolicyInvalid for every request, and Problem says why.
// Compile(nil) is nil: the route asks nothing of the certificate.
func Compile(r *snapshot.Requirement) *Requirement {
	if r == nil {
		return nil
	}
	c := &Requirement{
		policy:       r.Policy,
		mode:         snapshot.ModeEnforce,
		forward:      snapshot.ForwardNone,
		sans:         append([]snapshot.SANMatch(nil), r.SubjectAltNames...),
		allowExpired: r.AllowExpired,
	}
	if err := c.compile(r); err != nil {
		// Drop whatever compiled, so nothing but the problem can decide.
		return &Requirement{policy: c.policy, mode: c.mode, forward: snapshot.ForwardNone, problem: err.Error()}
	}
	return c
}

func (c *Requirement) compile(r *snapshot.Requirement) error {
	if r.Invalid != "" {
		// Parse the mode anyway: an Audit policy whose ConfigMap is missing
		// stays in Audit, see Mode.
		_ = c.compileModes(r)
		return errors.New(r.Invalid)
	}
	if err := c.compileModes(r); err != nil {
		return err
	}
	if len(r.Pins) == 0 && len(r.CACertificates) == 0 {
		return errors.New("no pins and no CA certificates: a policy needs pins, pinsFrom or trust")
	}
	if len(r.Pins) > 0 {
		set, err := pin.NewSet(r.Pins)
		if err != nil {
			return err
		}
		c.pins = set
		if c.retiring, err = compileRetiring(r.RetiringPins); err != nil {
			return err
		}
	}
	if len(r.CACertificates) > 0 {
		pool, err := caPool(r.CACertificates)
		if err != nil {
			return err
		}
		c.roots = pool
	}
	return checkSANs(r.SubjectAltNames)
}

func (c *Requirement) compileModes(r *snapshot.Requirement) error {
	switch r.Mode {
	case "", snapshot.ModeEnforce:
	case snapshot.ModeAudit:
		c.mode = snapshot.ModeAudit
	default:
		return fmt.Errorf("mode %q: want Enforce or Audit", r.Mode)
	}
	switch r.ForwardClientCert {
	case "", snapshot.ForwardNone:
	case snapshot.ForwardXFCC, snapshot.ForwardRFC9440:
		c.forward = r.ForwardClientCert
	default:
		return fmt.Errorf("forwardClientCert %q: want None, XFCC or RFC9440", r.ForwardClientCert)
	}
	switch r.PathConfusionGuard {
	case "", snapshot.GuardEnabled:
	case snapshot.GuardDisabled:
		c.guardOff = true
	default:
		return fmt.Errorf("pathConfusionGuard %q: want Enabled or Disabled", r.PathConfusionGuard)
	}
	return nil
}

// retiringPin is a snapshot.RetiringPin compiled: a set of one pin, so
// it matches a fingerprint exactly as pins do.
type retiringPin struct {
	set     *pin.Set
	expires time.Time
}

func compileRetiring(pins []snapshot.RetiringPin) ([]retiringPin, error) {
	var out []retiringPin
	for i, rp := range pins {
		set, err := pin.NewSet([]pin.Pin{rp.Pin})
		if err != nil {
			return nil, fmt.Errorf("retiringPins[%d]: %w", i, err)
		}
		out = append(out, retiringPin{set: set, expires: rp.Expires})
	}
	return out, nil
}

// caPool parses the requirement's CA bundles strictly (see package trust):
// a bundle the data plane cannot fully read makes the policy invalid.
func caPool(cas []snapshot.CACertificate) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if err := trust.AddToPool(pool, cas); err != nil {
		return nil, err
	}
	return pool, nil
}

func checkSANs(sans []snapshot.SANMatch) error {
	for i, san := range sans {
		switch san.Type {
		case snapshot.SANDNS, snapshot.SANURI, snapshot.SANEmail:
		default:
			return fmt.Errorf("subjectAltNames[%d]: type %q: want DNS, URI or Email", i, san.Type)
		}
		if san.Value == "" {
			return fmt.Errorf("subjectAltNames[%d]: empty %s value", i, san.Type)
		}
	}
	return nil
}

// Problem says why the requirement rejects every request; it is empty for
// a usable requirement. It is meant for status conditions and logs, never
// for the response body.
func (r *Requirement) Problem() string {
	if r == nil {
		return ""
	}
	return r.problem
}

// Policy is "namespace/name" of the ClientCertPolicy the requirement came
// from.
func (r *Requirement) Policy() string {
	if r == nil {
		return ""
	}
	return r.policy
}

// Mode is Enforce or Audit. In Audit mode the caller counts Check's reason
// with mode="audit" and lets the request through. An invalid requirement
// keeps a valid declared Audit mode: Audit is a dry run its author chose,
// and a typo in an Audit policy must not take the route down; an invalid
// Audit policy passes exactly what a valid one would, and its rejections
// show as policy_invalid. A mode that does not parse is Enforce.
func (r *Requirement) Mode() snapshot.RequirementMode {
	if r == nil {
		return snapshot.ModeEnforce
	}
	return r.mode
}

// Forward is what passing requests carry upstream about the certificate:
// None, XFCC or RFC9440. An invalid requirement forwards nothing.
func (r *Requirement) Forward() snapshot.ForwardClientCert {
	if r == nil {
		return snapshot.ForwardNone
	}
	return r.forward
}

// GuardsPathConfusion reports whether requests whose folded path selects a
// rule governed by the requirement are judged against it even when the
// path as sent matched another rule (see the router package's Guard). It
// is true unless the policy turned the guard off; an invalid requirement
// keeps it on (fail closed), and a nil requirement guards nothing.
func (r *Requirement) GuardsPathConfusion() bool {
	return r != nil && !r.guardOff
}
