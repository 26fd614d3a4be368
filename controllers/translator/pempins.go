package translator

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/pin"
)

// isPEM reports whether a pinsFrom key holds PEM rather than a pin list.
// A pin list cannot contain "-----BEGIN ", so no field is needed to say
// which one a key is: the certificate AWS API Gateway exports, or tls.crt
// of a Secret, can be named as they are.
func isPEM(data []byte) bool {
	return bytes.Contains(data, []byte("-----BEGIN "))
}

// pemPins pins every certificate in a PEM key, by pinType. Private key
// blocks (a combined key and certificate file) and other non-certificate
// blocks are skipped, never read. A CA certificate is refused rather
// than pinned: pinning is about one client, and a CA in the list is
// almost always a chain pasted whole, where the author meant to pin its
// leaf or to trust the CA (spec.trust), not to accept the CA's own key as
// a client. Problems name the certificate by its position and never
// quote the content (see pemcheck.go).
func pemPins(data []byte, pinType v1alpha1.PEMPinType) ([]pin.Pin, string) {
	alg, problem := pemPinAlgorithm(pinType)
	if problem != "" {
		return nil, problem
	}
	var pins []pin.Pin
	n := 0
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		n++
		cert, err := x509.ParseCertificate(block.Bytes)
		switch {
		case err != nil:
			return nil, fmt.Sprintf("certificate %d does not parse as X.509", n)
		case cert.IsCA:
			return nil, fmt.Sprintf("certificate %d is a CA certificate (basicConstraints CA:TRUE), which pinsFrom does not pin: "+
				"keep only the client's own certificate in this key, or trust the CA with spec.trust", n)
		}
		pins = append(pins, certificatePin(cert, alg))
	}
	if n == 0 {
		return nil, "holds PEM but no CERTIFICATE block"
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
