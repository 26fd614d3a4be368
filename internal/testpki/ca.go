// Package testpki issues real X.509 certificates for tests: a CA, optional
// intermediates, and leaves with the SANs, key usages, validity and key type
// a test needs. Everything is generated in memory per test, so no fixture
// can expire in the repository and no private key is ever committed.
//
// ECDSA P-256 is the default key because generating it is cheap on shared
// CI machines; ask for RSA only where a test is about RSA.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// KeyType is the kind of key a certificate is issued for.
type KeyType string

// Key types. The zero value is ECDSA.
const (
	ECDSA KeyType = ""
	RSA   KeyType = "RSA"
)

// CAOptions shape a CA or an intermediate. Zero values give a CA valid from
// a year ago for ten years with an ECDSA key, so leaves issued with past
// validity periods (expired certificates) still chain to a CA that was
// valid when they were.
type CAOptions struct {
	// Name is the CA's common name; empty means "testpki CA".
	Name      string
	NotBefore time.Time
	NotAfter  time.Time
	Key       KeyType
}

// CA is a certificate authority that issues certificates in a test.
type CA struct {
	// Cert is the CA certificate.
	Cert *x509.Certificate
	// PEM is Cert in PEM form, as a CA bundle in a ConfigMap holds it.
	PEM []byte
	// Key signs what the CA issues.
	Key crypto.Signer
	// chain is the issuing chain above Cert, nearest first, without the
	// root: what a leaf issued by this CA presents after itself.
	chain []*x509.Certificate
	root  bool
}

// NewCA returns a self-signed root CA with the given common name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	return NewCAWith(t, CAOptions{Name: name})
}

// NewCAWith returns a self-signed root CA shaped by opts.
func NewCAWith(t testing.TB, opts CAOptions) *CA {
	t.Helper()
	key := newKey(t, opts.Key)
	tmpl := caTemplate(t, opts)
	ca := newCA(t, tmpl, tmpl, key, key, nil)
	ca.root = true
	return ca
}

// Intermediate returns a CA signed by ca. Leaves it issues present the
// intermediate (and any intermediates above it) after themselves, as a
// client behind an intermediate CA does in the handshake.
func (ca *CA) Intermediate(t testing.TB, opts CAOptions) *CA {
	t.Helper()
	key := newKey(t, opts.Key)
	tmpl := caTemplate(t, opts)
	chain := append([]*x509.Certificate{}, ca.chain...)
	if !ca.root {
		chain = append([]*x509.Certificate{ca.Cert}, chain...)
	}
	return newCA(t, tmpl, ca.Cert, key, ca.Key, chain)
}

// Pool returns a pool holding only this CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

func caTemplate(t testing.TB, opts CAOptions) *x509.Certificate {
	t.Helper()
	name := opts.Name
	if name == "" {
		name = "testpki CA"
	}
	notBefore := opts.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now().AddDate(-1, 0, 0)
	}
	notBefore, notAfter := validity(notBefore, opts.NotAfter, 10*365*24*time.Hour)
	return &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"certgate tests"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

func newCA(t testing.TB, tmpl, parent *x509.Certificate, key, parentKey crypto.Signer, chain []*x509.Certificate) *CA {
	t.Helper()
	cert := sign(t, tmpl, parent, key.Public(), parentKey)
	return &CA{Cert: cert, PEM: certPEM(cert), Key: key, chain: chain}
}

// sign issues tmpl, signed by parentKey, and parses the result back so the
// caller holds exactly what a peer would see on the wire.
func sign(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatalf("testpki: create certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testpki: parse certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	return cert
}

func newKey(t testing.TB, kind KeyType) crypto.Signer {
	t.Helper()
	var (
		key crypto.Signer
		err error
	)
	switch kind {
	case ECDSA:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("testpki: unknown key type %q", kind)
	}
	if err != nil {
		t.Fatalf("testpki: generate %s key: %v", kind, err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("testpki: serial number: %v", err)
	}
	return n
}

// validity fills zero bounds: from an hour ago (so clock skew between a
// test's certificate and its time.Now cannot matter) for lifetime.
func validity(notBefore, notAfter time.Time, lifetime time.Duration) (time.Time, time.Time) {
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = notBefore.Add(lifetime)
	}
	return notBefore, notAfter
}

func certPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
