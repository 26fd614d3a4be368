package main

import (
	"crypto"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"

	"github.com/certgate/certgate/internal/pki"
)

// organization is the subject O of every demo certificate.
var organization = []string{"certgate quickstart"}

// demoCert is a certificate from internal/pki and the files it was written
// to, which the printed curl commands name.
type demoCert struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte // nil for the CA: its key is never written
	ca      *pki.CA
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

// newCA makes the demo's self-signed CA.
func newCA(name string) (*demoCert, error) {
	ca, err := pki.NewCA(pki.CAOptions{Name: name, Organization: organization})
	if err != nil {
		return nil, err
	}
	return &demoCert{cert: ca.Cert, key: ca.Key, certPEM: ca.PEM, ca: ca}, nil
}

// issue signs a leaf certificate, valid for a day, with the CA c.
func (c *demoCert) issue(spec certSpec) (*demoCert, error) {
	leaf, err := c.ca.Issue(pki.Options{
		CommonName: spec.name, Organization: organization,
		ExtKeyUsage: []x509.ExtKeyUsage{spec.usage}, DNSNames: spec.dns, IPAddresses: spec.ips,
	})
	if err != nil {
		return nil, err
	}
	return &demoCert{cert: leaf.Leaf, key: leaf.Key, certPEM: leaf.CertPEM, keyPEM: leaf.KeyPEM}, nil
}

// write puts the certificate and key into dir as NAME.crt and NAME.key,
// the key readable by the owner only.
func (c *demoCert) write(dir string) error {
	name := c.cert.Subject.CommonName
	c.CertFile = filepath.Join(dir, name+".crt")
	if err := os.WriteFile(c.CertFile, c.certPEM, 0o644); err != nil {
		return err
	}
	if c.keyPEM == nil {
		return nil
	}
	c.KeyFile = filepath.Join(dir, name+".key")
	return os.WriteFile(c.KeyFile, c.keyPEM, 0o600)
}
