package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// This is a deliberately small certificate generator for the demo: one CA,
// ECDSA P-256 leaves valid for a day, files written next to each other.
// Tests use internal/testpki, which is richer and takes a testing.TB; the
// demo is a program, so it has its own.

// demoCert is a certificate and its key, as PEM and as written to disk.
type demoCert struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
	// CertFile and KeyFile are where write put them.
	CertFile, KeyFile string
}

// certSpec says what to issue.
type certSpec struct {
	name  string // common name and file name
	usage x509.ExtKeyUsage
	dns   []string
	ips   []net.IP
}

// newCA makes a self-signed CA.
func newCA(name string) (*demoCert, error) {
	tmpl := certTemplate(certSpec{name: name})
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tmpl.ExtKeyUsage = nil
	return sign(tmpl, nil)
}

// issue signs a leaf certificate with ca.
func (ca *demoCert) issue(spec certSpec) (*demoCert, error) {
	return sign(certTemplate(spec), ca)
}

func certTemplate(spec certSpec) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: spec.name, Organization: []string{"certgate quickstart"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{spec.usage},
		DNSNames:     spec.dns,
		IPAddresses:  spec.ips,
	}
}

// sign creates a key and a certificate for tmpl, signed by parent (self
// signed when parent is nil).
func sign(tmpl *x509.Certificate, parent *demoCert) (*demoCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &demoCert{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// write puts the certificate and key into dir as NAME.crt and NAME.key,
// the key readable by the owner only.
func (c *demoCert) write(dir string) error {
	name := c.cert.Subject.CommonName
	c.CertFile, c.KeyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(c.CertFile, c.certPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(c.KeyFile, c.keyPEM, 0o600)
}
