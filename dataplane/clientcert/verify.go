package clientcert

import (
	"crypto/x509"
	"sync"
	"time"
)

// maxVerifications bounds the verdicts one connection keeps. Each
// configuration swap compiles new requirements, so a connection that lives
// through many swaps would otherwise keep every old requirement (and its
// CA pool) alive. Clearing when full costs at most a re-verification.
const maxVerifications = 8

// clientAuth is the only key usage a client certificate is verified for.
var clientAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}

// verifications caches chain verification per requirement for one
// connection. Verification builds and checks chains, which costs
// signature checks; pins and SANs are cheap and are checked per request.
type verifications struct {
	mu sync.Mutex
	// pool holds the presented intermediates, built on first use so a
	// pin-only route never pays for it.
	pool     *x509.CertPool
	verdicts map[*Requirement]verdict
}

// verdict is one verification result. A trusted chain is only trusted
// between from and until, the validity period every certificate of the
// chain shares, so a CA that expires under a long-lived connection is
// noticed. An untrusted one stays untrusted for the connection: nothing the
// client does on it can change its certificates.
type verdict struct {
	trusted     bool
	from, until time.Time
}

func (v verdict) holdsAt(t time.Time) bool {
	return !v.trusted || (!t.Before(v.from) && !t.After(v.until))
}

// chainTrusted reports whether the presented chain verifies to r's CAs for
// client authentication.
//
// Verification happens at a time inside the leaf's validity period (now,
// moved into that period if it is outside). Expiry of the leaf is
// therefore not a chain failure: a trusted but expired certificate is
// reported as expired by Check, which tells an operator "renew it" rather
// than "this is not our certificate", and AllowExpired can accept it. The
// intermediates and CAs must still be valid at that time.
func (p *Peer) chainTrusted(r *Requirement, now time.Time) bool {
	at := p.verificationTime(now)
	v := &p.verifications
	v.mu.Lock()
	defer v.mu.Unlock()
	if got, ok := v.verdicts[r]; ok && got.holdsAt(at) {
		return got.trusted
	}
	got := p.verify(r.roots, at)
	if v.verdicts == nil || len(v.verdicts) >= maxVerifications {
		v.verdicts = make(map[*Requirement]verdict, 1)
	}
	v.verdicts[r] = got
	return got.trusted
}

func (p *Peer) verificationTime(now time.Time) time.Time {
	switch {
	case now.Before(p.leaf.NotBefore):
		return p.leaf.NotBefore
	case now.After(p.leaf.NotAfter):
		return p.leaf.NotAfter
	}
	return now
}

// verify runs x509 verification; the caller holds the lock.
func (p *Peer) verify(roots *x509.CertPool, at time.Time) verdict {
	v := &p.verifications
	if v.pool == nil {
		v.pool = x509.NewCertPool()
		for _, c := range p.intermediates {
			v.pool.AddCert(c)
		}
	}
	chains, err := p.leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: v.pool,
		CurrentTime:   at,
		KeyUsages:     clientAuth,
	})
	if err != nil {
		return verdict{}
	}
	return widestWindow(chains)
}

// widestWindow returns the trusted verdict of the chain that stays valid
// longest, so the cache is re-verified no sooner than needed.
func widestWindow(chains [][]*x509.Certificate) verdict {
	var best verdict
	for _, chain := range chains {
		w := verdict{trusted: true, from: chain[0].NotBefore, until: chain[0].NotAfter}
		for _, c := range chain[1:] {
			if c.NotBefore.After(w.from) {
				w.from = c.NotBefore
			}
			if c.NotAfter.Before(w.until) {
				w.until = c.NotAfter
			}
		}
		if !best.trusted || w.until.After(best.until) {
			best = w
		}
	}
	return best
}
