package translator

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/certgate/certgate/internal/pemcert"
)

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
		return fmt.Errorf("certificate %d does not parse: %w", pe.Certificate, pe.Err)
	}
	if len(b.Certificates) == 0 {
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
