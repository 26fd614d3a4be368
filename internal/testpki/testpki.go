// Package testpki issues real X.509 certificates for tests, through
// internal/pki: a failure to generate one fails the test, so tests read as
// what they issue.
package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/certgate/certgate/internal/pki"
)

// KeyType is the kind of key a certificate is issued for.
type KeyType = pki.KeyType

// Key types. The zero value is ECDSA.
const (
	ECDSA = pki.ECDSA
	RSA   = pki.RSA
)

// CAOptions shape a CA; see pki.CAOptions.
type CAOptions = pki.CAOptions

// Options shape a leaf certificate; see pki.Options.
type Options = pki.Options

// CA is a certificate authority that issues certificates in a test.
type CA struct{ *pki.CA }

// Cert is an issued leaf certificate.
type Cert struct{ *pki.Cert }

// NewCA returns a self-signed root CA with the given common name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	return NewCAWith(t, CAOptions{Name: name})
}

// NewCAWith returns a self-signed root CA shaped by opts.
func NewCAWith(t testing.TB, opts CAOptions) *CA {
	t.Helper()
	if opts.Organization == nil {
		opts.Organization = []string{"certgate tests"}
	}
	ca, err := pki.NewCA(opts)
	if err != nil {
		t.Fatalf("testpki: %v", err)
	}
	return &CA{ca}
}

// Intermediate returns a CA signed by ca.
func (ca *CA) Intermediate(t testing.TB, opts CAOptions) *CA {
	t.Helper()
	in, err := ca.CA.Intermediate(opts)
	if err != nil {
		t.Fatalf("testpki: %v", err)
	}
	return &CA{in}
}

// Issue issues a leaf certificate shaped by opts.
func (ca *CA) Issue(t testing.TB, opts Options) *Cert {
	t.Helper()
	c, err := ca.CA.Issue(opts)
	if err != nil {
		t.Fatalf("testpki: %v", err)
	}
	return &Cert{c}
}

// PeerState returns the connection state a server sees after a handshake
// in which this certificate was presented, for tests that judge a peer
// without running a handshake.
func (c *Cert) PeerState() *tls.ConnectionState {
	return &tls.ConnectionState{
		Version:           tls.VersionTLS13,
		HandshakeComplete: true,
		PeerCertificates:  append([]*x509.Certificate{}, c.Chain...),
	}
}
