// Package pemcert walks the CERTIFICATE blocks of a PEM bundle: the one
// reading of PEM certificates shared by the data plane's trust pools, the
// translator's checks and `certgate pin`, so that all three agree on what
// a bundle holds and number its blocks the same way.
package pemcert

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// Bundle is what a PEM bundle holds.
type Bundle struct {
	// Certificates are the parsed CERTIFICATE blocks, in order.
	Certificates []Certificate
	// Skipped are the blocks of any other type (keys, parameters), which
	// bundles often carry; only their type is kept, never their content.
	Skipped []Skipped
	// Blocks counts every PEM block read.
	Blocks int
}

// Certificate is one parsed CERTIFICATE block.
type Certificate struct {
	// Block is the 1-based position of the block among all blocks.
	Block int
	// Cert is the parsed certificate.
	Cert *x509.Certificate
}

// Skipped is one block that is not a certificate.
type Skipped struct {
	// Block is the 1-based position of the block among all blocks.
	Block int
	// Type is the PEM type as written, for example "PRIVATE KEY".
	Type string
}

// ParseError is a CERTIFICATE block that does not parse.
type ParseError struct {
	// Block is its 1-based position among all blocks.
	Block int
	// Certificate is its 1-based position among CERTIFICATE blocks.
	Certificate int
	// Err is the x509 error.
	Err error
}

func (e *ParseError) Error() string { return fmt.Sprintf("PEM block %d: %v", e.Block, e.Err) }

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads every PEM block of data. It stops at the first certificate
// that does not parse, with a *ParseError and what was read before it;
// a bundle is all good or refused, never half used.
func Parse(data []byte) (Bundle, error) {
	var b Bundle
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		b.Blocks++
		if block.Type != "CERTIFICATE" {
			b.Skipped = append(b.Skipped, Skipped{Block: b.Blocks, Type: block.Type})
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return b, &ParseError{Block: b.Blocks, Certificate: len(b.Certificates) + 1, Err: err}
		}
		b.Certificates = append(b.Certificates, Certificate{Block: b.Blocks, Cert: cert})
	}
	return b, nil
}

// Certs returns the parsed certificates.
func (b Bundle) Certs() []*x509.Certificate {
	out := make([]*x509.Certificate, len(b.Certificates))
	for i, c := range b.Certificates {
		out[i] = c.Cert
	}
	return out
}
