package clientcert

import (
	"slices"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// Check judges the certificate p presented against the requirement at time
// now, and returns the first reason it fails, or "" if it passes. Mode is
// not applied here: in Audit mode the caller records the reason and lets
// the request through.
//
// The order is the order of the Reason constants. Untrusted comes before
// expired because the chain is verified at a time inside the leaf's
// validity (see chainTrusted): a stranger's certificate is untrusted
// whatever its dates, and a trusted certificate that is only expired is
// reported as expired. A nil requirement fails closed: a route with no
// requirement must not call Check at all.
//
// With pins and no CA, Check takes no lock and allocates nothing.
func (r *Requirement) Check(p *Peer, now time.Time) Reason {
	return r.Judge(p, now).Reason
}

// Verdict is the outcome of judging a certificate against a requirement.
type Verdict struct {
	// Reason is the first check that failed; "" when the certificate
	// passes.
	Reason Reason
	// Retiring is true when the certificate passed on a retiring pin
	// only: a client still using a certificate its source has replaced.
	Retiring bool
}

// Judge is Check, also saying whether the certificate passed on a
// retiring pin. A retiring pin counts while now is before its expiry.
func (r *Requirement) Judge(p *Peer, now time.Time) Verdict {
	if reason := r.checkChain(p, now); reason != "" {
		return Verdict{Reason: reason}
	}
	retiring := false
	if r.pins != nil && !r.pins.Contains(&p.fingerprints) {
		if !r.retiringMatch(p, now) {
			return Verdict{Reason: ReasonPinMismatch}
		}
		retiring = true
	}
	if len(r.sans) > 0 && !r.matchesSAN(p) {
		return Verdict{Reason: ReasonSANMismatch}
	}
	return Verdict{Retiring: retiring}
}

// checkChain runs the checks before the pin check, in the order of the
// Reason constants.
func (r *Requirement) checkChain(p *Peer, now time.Time) Reason {
	switch {
	case r == nil || r.problem != "":
		return ReasonPolicyInvalid
	case !p.TLS():
		return ReasonNoTLS
	case p.leaf == nil:
		return ReasonMissing
	case r.roots != nil && !p.chainTrusted(r, now):
		return ReasonUntrusted
	case !r.allowExpired && !p.validAt(now):
		return ReasonExpired
	}
	return ""
}

// retiringMatch reports whether the leaf matches a retiring pin whose
// expiry is after now. The list is short (the pins of one renewal or
// two), so it is scanned.
func (r *Requirement) retiringMatch(p *Peer, now time.Time) bool {
	for _, rp := range r.retiring {
		if now.Before(rp.expires) && rp.set.Contains(&p.fingerprints) {
			return true
		}
	}
	return false
}

// matchesSAN reports whether the leaf carries any of the requirement's
// SANs. DNS names compare ASCII case-insensitively, as DNS does, with no
// wildcard expansion and no trailing-dot folding: the policy names the
// client's identity, it does not match a host against it. URIs and email
// addresses compare as exact strings: URI paths are case-sensitive, and
// the local part of an address may be.
func (r *Requirement) matchesSAN(p *Peer) bool {
	for _, want := range r.sans {
		var found bool
		switch want.Type {
		case snapshot.SANDNS:
			found = slices.ContainsFunc(p.leaf.DNSNames, func(name string) bool { return equalFoldASCII(name, want.Value) })
		case snapshot.SANURI:
			found = slices.Contains(p.uris, want.Value)
		case snapshot.SANEmail:
			found = slices.Contains(p.leaf.EmailAddresses, want.Value)
		}
		if found {
			return true
		}
	}
	return false
}

// equalFoldASCII is strings.EqualFold restricted to ASCII. Unicode folding
// would let "K" (U+212A KELVIN SIGN) in a policy equal "k" in a
// certificate; DNS names in certificates are ASCII, so only ASCII letters
// fold.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
