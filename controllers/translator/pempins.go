package translator

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/internal/pemcert"
)

// isPEM reports whether a pinsFrom key holds PEM rather than a pin list.
// A pin list cannot contain "-----BEGIN ", so no field is needed to say
// which one a key is: the certificate AWS API Gateway exports, or tls.crt
// of a Secret, can be named as they are.
func isPEM(data []byte) bool {
	return bytes.Contains(data, []byte("-----BEGIN "))
}

// pemPins pins the client certificates in a PEM key, by pinType.
// Private key blocks (a combined key and certificate file) and other
// non-certificate blocks are skipped, never read. CA certificates are not
// pinned: pinning is about one client, and the CAs in a key are the
// issuers that follow a leaf (tls.crt of a cert-manager Secret holds the
// leaf, then its chain), not clients. A key with CA certificates only is
// refused, since nothing in it could be a client; trusting a CA is
// spec.trust's job. Problems name the certificate by its position and
// never quote the content (see pemcheck.go).
func pemPins(data []byte, pinType v1alpha1.PEMPinType) ([]pin.Pin, string) {
	alg, problem := pemPinAlgorithm(pinType)
	if problem != "" {
		return nil, problem
	}
	b, err := pemcert.Parse(data)
	var pe *pemcert.ParseError
	if errors.As(err, &pe) {
		return nil, fmt.Sprintf("certificate %d does not parse as X.509", pe.Certificate)
	}
	if len(b.Certificates) == 0 {
		return nil, "holds PEM but no CERTIFICATE block"
	}
	var pins []pin.Pin
	for _, c := range b.Certificates {
		if !c.Cert.IsCA {
			pins = append(pins, certificatePin(c.Cert, alg))
		}
	}
	if len(pins) == 0 {
		return nil, "holds only CA certificates (basicConstraints CA:TRUE), which pinsFrom does not pin: " +
			"add the client's own certificate to this key, or trust the CA with spec.trust"
	}
	return pins, ""
}

// pemPinAlgorithm maps spec.pinsFrom[].pinType; empty is Certificate.
func pemPinAlgorithm(t v1alpha1.PEMPinType) (pin.Algorithm, string) {
	switch t {
	case "", v1alpha1.PEMPinCertificate:
		return pin.SHA256, ""
	case v1alpha1.PEMPinSPKI:
		return pin.SPKISHA256, ""
	}
	return "", fmt.Sprintf("pinType %q is not %s or %s", t, v1alpha1.PEMPinCertificate, v1alpha1.PEMPinSPKI)
}

// certificatePin returns the pin of cert for alg (SHA256 or SPKISHA256).
func certificatePin(cert *x509.Certificate, alg pin.Algorithm) pin.Pin {
	fp := pin.Of(cert)
	if alg == pin.SPKISHA256 {
		return pin.Pin{Algorithm: alg, Digest: fp.SPKISHA256[:]}
	}
	return pin.Pin{Algorithm: pin.SHA256, Digest: fp.SHA256[:]}
}
