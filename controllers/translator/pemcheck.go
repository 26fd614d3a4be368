package translator

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// checkCertificatesPEM checks that data is a PEM bundle the data plane
// will accept as trust anchors: at least one CERTIFICATE block, every one
// of them parsable. It is as strict as the data plane's own parsing on
// purpose: material the data plane would refuse makes it reject the whole
// snapshot, so the translator must catch it first and fail closed on the
// one route or backend that needs it instead.
func checkCertificatesPEM(data []byte) error {
	n := 0
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		n++
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d does not parse: %w", n, err)
		}
	}
	if n == 0 {
		return errors.New("no PEM CERTIFICATE block")
	}
	return nil
}

// checkKeyPair checks that a certificate and key PEM form a usable TLS
// identity: both parse and the key belongs to the certificate. The error
// never quotes the key.
func checkKeyPair(certPEM, keyPEM []byte) error {
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return fmt.Errorf("tls.crt and tls.key are not a valid key pair: %w", err)
	}
	return nil
}
