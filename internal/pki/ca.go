// Package pki issues X.509 certificates: a CA, optional intermediates, and
// leaves with the SANs, key usages, validity and key type the caller asks
// for. Tests use it through internal/testpki; the quickstart and the local
// cluster use it directly. Everything is generated in memory, so no
// certificate can expire in the repository and no private key is ever
// committed.
//
// ECDSA P-256 is the default key because generating it is cheap; RSA is
// there for what is about RSA.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
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
	// Name is the CA's common name; empty means "certgate CA".
	Name         string
	Organization []string
	NotBefore    time.Time
	NotAfter     time.Time
	Key          KeyType
}

// CA is a certificate authority.
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

// NewCA returns a self-signed root CA shaped by opts.
func NewCA(opts CAOptions) (*CA, error) {
	key, err := newKey(opts.Key)
	if err != nil {
		return nil, err
	}
	tmpl, err := caTemplate(opts)
	if err != nil {
		return nil, err
	}
	ca, err := newCA(tmpl, tmpl, key, key, nil)
	if err != nil {
		return nil, err
	}
	ca.root = true
	return ca, nil
}

// Intermediate returns a CA signed by ca. Leaves it issues present the
// intermediate (and any intermediates above it) after themselves, as a
// client behind an intermediate CA does in the handshake.
func (ca *CA) Intermediate(opts CAOptions) (*CA, error) {
	key, err := newKey(opts.Key)
	if err != nil {
		return nil, err
	}
	tmpl, err := caTemplate(opts)
	if err != nil {
		return nil, err
	}
	chain := append([]*x509.Certificate{}, ca.chain...)
	if !ca.root {
		chain = append([]*x509.Certificate{ca.Cert}, chain...)
	}
	return newCA(tmpl, ca.Cert, key, ca.Key, chain)
}

// Pool returns a pool holding only this CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

func caTemplate(opts CAOptions) (*x509.Certificate, error) {
	name := opts.Name
	if name == "" {
		name = "certgate CA"
	}
	notBefore := opts.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now().AddDate(-1, 0, 0)
	}
	notBefore, notAfter := validity(notBefore, opts.NotAfter, 10*365*24*time.Hour)
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: name, Organization: opts.Organization},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil
}

func newCA(tmpl, parent *x509.Certificate, key, parentKey crypto.Signer, chain []*x509.Certificate) (*CA, error) {
	cert, err := sign(tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, PEM: certPEM(cert), Key: key, chain: chain}, nil
}

// sign issues tmpl, signed by parentKey, and parses the result back so the
// caller holds exactly what a peer would see on the wire.
func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, fmt.Errorf("pki: create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return cert, nil
}

func newKey(kind KeyType) (crypto.Signer, error) {
	switch kind {
	case ECDSA:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("pki: unknown key type %q", kind)
}

func serial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial number: %w", err)
	}
	return n, nil
}

// validity fills zero bounds: from an hour ago (so clock skew between a
// certificate and the clock that judges it cannot matter) for lifetime.
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
