// Package trust reads trust anchors: the CA certificates that client
// certificate requirements, frontend validation and backend TLS verify
// chains against. It is strict on purpose: x509.CertPool.AppendCertsFromPEM
// skips blocks it cannot parse, so a truncated bundle would silently trust
// fewer CAs, and a bundle with nothing usable would leave an empty pool. A
// fail-closed configuration wants an error it can report instead.
package trust

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/pemcert"
)

// ParseCertificates returns every CERTIFICATE block of a PEM bundle. Other
// block types are skipped, as bundles often carry them; a malformed
// certificate, or a bundle without any, is an error.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	b, err := pemcert.Parse(data)
	if err != nil {
		return nil, err // "PEM block N: ..."
	}
	if len(b.Certificates) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return b.Certs(), nil
}

// AddToPool adds every certificate of every bundle in cas to pool. An error
// names the bundle: "caCertificates[1] (ns/partner-ca): PEM block 2: ...".
func AddToPool(pool *x509.CertPool, cas []snapshot.CACertificate) error {
	for i, ca := range cas {
		certs, err := ParseCertificates(ca.PEM)
		if err != nil {
			return fmt.Errorf("caCertificates[%d] (%s): %w", i, ca.Name, err)
		}
		for _, cert := range certs {
			pool.AddCert(cert)
		}
	}
	return nil
}
