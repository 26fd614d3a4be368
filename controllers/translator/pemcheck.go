package translator

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/certgate/certgate/internal/pemcert"
)

// Problems with material read from ConfigMaps and Secrets never carry the
// parser's own error text: crypto/x509 and crypto/tls quote what they
// could not parse (a SAN, a URI, PEM block types), and whatever they
// quote comes from the object. Anyone allowed to reference a Secret could
// then read parts of it through status, logs or events. These messages
// say which key and which block is wrong, which is enough to find it with
// openssl.

// checkCertificatesPEM checks that data is a PEM bundle the data plane
// will accept as trust anchors: at least one CERTIFICATE block, every one
// of them parsable. It is as strict as the data plane's own parsing on
// purpose: material the data plane would refuse makes it reject the whole
// snapshot, so the translator must catch it first and fail closed on the
// one route or backend that needs it instead.
func checkCertificatesPEM(data []byte) error {
	b, err := pemcert.Parse(data)
	var pe *pemcert.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("certificate %d does not parse as X.509", pe.Certificate)
	}
	if len(b.Certificates) == 0 {
		return errors.New("no PEM CERTIFICATE block")
	}
	return nil
}

// checkKeyPair checks that a certificate and key PEM form a usable TLS
// identity: both parse and the key belongs to the certificate.
func checkKeyPair(certPEM, keyPEM []byte) error {
	if err := checkCertificatesPEM(certPEM); err != nil {
		return fmt.Errorf("tls.crt: %w", err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		if !hasPrivateKey(keyPEM) {
			return errors.New("tls.key holds no parsable PEM private key (PKCS #1, PKCS #8 or SEC 1)")
		}
		return errors.New("tls.key does not belong to the first certificate of tls.crt")
	}
	return nil
}

// hasPrivateKey reports whether data holds a PEM private key block that
// parses in one of the encodings crypto/tls accepts.
func hasPrivateKey(data []byte) bool {
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			return true
		}
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
			return true
		}
		if _, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
			return true
		}
	}
	return false
}
