package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"time"
)

// Options shape a leaf certificate. Zero values give an ECDSA certificate
// for client and server authentication, valid from an hour ago for a day,
// with no SANs.
type Options struct {
	// CommonName is the subject CN; empty means "certgate leaf".
	CommonName string
	// Organization, when set, is the subject O.
	Organization []string
	DNSNames     []string
	// URIs are URI SANs, parsed with url.Parse.
	URIs           []string
	EmailAddresses []string
	IPAddresses    []net.IP
	// ExtKeyUsage nil means client and server authentication. A non-nil
	// empty slice leaves the extension out.
	ExtKeyUsage []x509.ExtKeyUsage
	NotBefore   time.Time
	NotAfter    time.Time
	Key         KeyType
	// PrivateKey, when set, is used instead of a new key of type Key: a
	// renewal of an earlier Cert with the same key (same SPKI pin).
	PrivateKey crypto.Signer
}

// Cert is an issued leaf with everything a TLS stack or a configuration
// needs.
type Cert struct {
	// TLS is the leaf, its intermediates and its key, ready for
	// tls.Config.Certificates or GetClientCertificate.
	TLS *tls.Certificate
	// Leaf is the parsed leaf certificate.
	Leaf *x509.Certificate
	// Chain is the leaf followed by its intermediates, as presented in a
	// handshake.
	Chain []*x509.Certificate
	// CertPEM is the leaf then its intermediates, PEM.
	CertPEM []byte
	// KeyPEM is the private key, PKCS #8 PEM.
	KeyPEM []byte
	// Key is the private key.
	Key crypto.Signer
}

// Issue issues a leaf certificate shaped by opts.
func (ca *CA) Issue(opts Options) (*Cert, error) {
	key := opts.PrivateKey
	if key == nil {
		var err error
		if key, err = newKey(opts.Key); err != nil {
			return nil, err
		}
	}
	tmpl, err := leafTemplate(opts)
	if err != nil {
		return nil, err
	}
	leaf, err := sign(tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	chain := []*x509.Certificate{leaf}
	if !ca.root {
		chain = append(chain, ca.Cert)
	}
	chain = append(chain, ca.chain...)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal key: %w", err)
	}
	tlsCert := &tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, c := range chain {
		tlsCert.Certificate = append(tlsCert.Certificate, c.Raw)
	}
	return &Cert{
		TLS:     tlsCert,
		Leaf:    leaf,
		Chain:   chain,
		CertPEM: certPEM(chain...),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		Key:     key,
	}, nil
}

func leafTemplate(opts Options) (*x509.Certificate, error) {
	cn := opts.CommonName
	if cn == "" {
		cn = "certgate leaf"
	}
	eku := opts.ExtKeyUsage
	if eku == nil {
		eku = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
	}
	notBefore, notAfter := validity(opts.NotBefore, opts.NotAfter, 24*time.Hour)
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:   sn,
		Subject:        pkix.Name{CommonName: cn, Organization: opts.Organization},
		NotBefore:      notBefore,
		NotAfter:       notAfter,
		KeyUsage:       x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:    eku,
		DNSNames:       opts.DNSNames,
		EmailAddresses: opts.EmailAddresses,
		IPAddresses:    opts.IPAddresses,
	}
	for _, raw := range opts.URIs {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("pki: URI SAN %q: %w", raw, err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	return tmpl, nil
}
