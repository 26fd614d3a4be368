package dataplane

import (
	"strings"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/dataplane/trust"
)

// Roles of the certificate expiry metric.
const (
	roleServing       = "serving"
	roleBackendClient = "backend-client"
	roleCA            = "ca"
)

// recordExpiry sets the expiry gauge of every certificate s uses, and
// drops the gauges of certificates it no longer uses. Mirror targets
// count: a mirror connects with its own client certificate and CAs, and
// one that expires fails as silently as any other backend.
func (d *Dataplane) recordExpiry(s *snapshot.Snapshot) {
	g := d.opts.Metrics.CertificateExpiry
	g.Reset()
	// Bundles are parsed once while they stay in use: a CA that pins
	// thousands of routes, each with its own copy, is one entry, and a
	// change parses only the bundles it brings.
	next := make(map[string]expiry, len(d.expiries))
	set := func(role, source string, pemBytes []byte) {
		e, ok := next[string(pemBytes)]
		if !ok {
			if e, ok = d.expiries[string(pemBytes)]; !ok {
				e.notAfter, e.ok = earliestExpiry(pemBytes)
			}
			next[string(pemBytes)] = e
		}
		if e.ok {
			namespace, name, _ := strings.Cut(source, "/")
			g.WithLabelValues(role, namespace, name).Set(float64(e.notAfter))
		}
	}
	defer func() { d.expiries = next }()
	setCAs := func(cas []snapshot.CACertificate) {
		for _, ca := range cas {
			set(roleCA, ca.Name, ca.PEM)
		}
	}
	for _, l := range s.Listeners {
		if l.TLS != nil {
			for _, c := range l.TLS.Certificates {
				set(roleServing, c.Name, c.CertPEM)
			}
			if v := l.TLS.FrontendValidation; v != nil {
				setCAs(v.CACertificates)
			}
		}
	}
	s.EachRule(func(_ *snapshot.Listener, _ *snapshot.Route, rule *snapshot.Rule) {
		if rc := rule.ClientCert; rc != nil {
			setCAs(rc.CACertificates)
		}
	})
	s.EachBackend(func(_ *snapshot.Listener, b *snapshot.Backend) {
		if t := b.TLS; t != nil {
			setCAs(t.CACertificates)
			if c := t.ClientCertificate; c != nil {
				set(roleBackendClient, c.Name, c.CertPEM)
			}
		}
	})
}

// expiry is what earliestExpiry says of a bundle.
type expiry struct {
	notAfter int64
	ok       bool
}

// earliestExpiry returns the earliest NotAfter, as a Unix time, of the
// certificates in a PEM bundle: a chain is only as valid as its shortest
// lived member.
func earliestExpiry(data []byte) (int64, bool) {
	certs, err := trust.ParseCertificates(data)
	if err != nil {
		return 0, false
	}
	earliest := certs[0].NotAfter.Unix()
	for _, c := range certs[1:] {
		earliest = min(earliest, c.NotAfter.Unix())
	}
	return earliest, true
}
