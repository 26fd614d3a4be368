package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/dataplane/trust"
)

// newTLSConfig builds the client side of a backend TLS connection from a
// BackendTLSPolicy (and the gateway's client certificate). Errors name the
// backend and the field at fault.
func newTLSConfig(backend string, t *snapshot.BackendTLS) (*tls.Config, error) {
	if t.ServerName == "" {
		// Without a name Go would verify the endpoint's IP address, which
		// is not what any BackendTLSPolicy asks for.
		return nil, fmt.Errorf("backend %s: tls.serverName is required", backend)
	}
	roots, err := rootPool(backend, t)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: t.ServerName,
		RootCAs:    roots,
		// Resumption saves a full handshake when a pooled connection is
		// replaced. The cache belongs to this transport, hence to one TLS
		// identity, so a rotated certificate never resumes an old session.
		ClientSessionCache: tls.NewLRUClientSessionCache(0),
	}
	if c := t.ClientCertificate; c != nil {
		cert, err := clientCertificate(backend, c)
		if err != nil {
			return nil, err
		}
		// GetClientCertificate rather than Certificates: with Certificates
		// Go sends nothing when the server's list of acceptable CAs does
		// not name our issuer (an intermediate, say). The policy says to
		// present this certificate on every connection; the backend judges.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert, nil
		}
	}
	if len(t.SubjectAltNames) > 0 {
		sans, err := newSANMatcher(backend, t.SubjectAltNames)
		if err != nil {
			return nil, err
		}
		// SubjectAltNames replace the ServerName check, which Go's built-in
		// verification cannot skip on its own. So the built-in check is
		// turned off and VerifyConnection does all of it: the chain against
		// the same roots, then the SANs. VerifyConnection runs on every
		// handshake, resumed ones included, so nothing bypasses it.
		cfg.InsecureSkipVerify = true //nolint:gosec // G402: VerifyConnection below verifies the chain and the SANs.
		cfg.VerifyConnection = verifyChainAndSANs(roots, sans)
	}
	return cfg, nil
}

// rootPool returns the trust anchors for a backend. It is never nil: a nil
// RootCAs means "system roots" to crypto/tls, while a policy with no CA and
// no system roots must fail every connection (fail closed), which an empty
// pool does.
func rootPool(backend string, t *snapshot.BackendTLS) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if t.UseSystemRoots {
		sys, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("backend %s: tls.useSystemRoots: loading the system trust store: %w", backend, err)
		}
		pool = sys // a copy: adding CAs below does not change other pools
	}
	if err := trust.AddToPool(pool, t.CACertificates); err != nil {
		return nil, fmt.Errorf("backend %s: tls.%w", backend, err)
	}
	return pool, nil
}

// clientCertificate parses the gateway's client certificate. The error
// never quotes the key; crypto/tls's messages do not either.
func clientCertificate(backend string, c *snapshot.Certificate) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(c.CertPEM, c.Key.Bytes())
	if err != nil {
		return nil, fmt.Errorf("backend %s: tls.clientCertificate (%s): %w", backend, c.Name, err)
	}
	return &cert, nil
}

// verifyChainAndSANs is the VerifyConnection of a backend with
// SubjectAltNames: the chain must verify to roots for server
// authentication, at the current time, and the leaf must carry one of the
// names. No hostname is checked; the names replace it.
func verifyChainAndSANs(roots *x509.CertPool, sans sanMatcher) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: backend presented no certificate")
		}
		leaf := cs.PeerCertificates[0]
		intermediates := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			intermediates.AddCert(c)
		}
		opts := x509.VerifyOptions{
			Roots:         roots,
			Intermediates: intermediates,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		if _, err := leaf.Verify(opts); err != nil {
			// The same shape crypto/tls gives its own verification
			// failures, so callers handle both alike.
			return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
		}
		return sans.match(leaf)
	}
}
