package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/pin"
)

const pinUsage = `usage: certgate pin FILE|-

Prints the sha256, sha1 and spki-sha256 pins of each certificate in a PEM
file (or DER, or standard input for "-"), in the pin line form a
ClientCertPolicy's pinsFrom accepts. Subject and expiry are printed as "#"
comments, so the whole output can be pasted into a pin list.
`

// runPin is "certgate pin". It prints only certificates: key blocks in the
// same file are skipped and named by type, never printed, so piping a
// combined key+cert PEM through it cannot leak the key.
func runPin(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newCommand("pin", pinUsage, stderr)
	if code := fs.parse(args, stdout, stderr); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fs.printUsage(stderr)
		return 2
	}
	name, data, err := readInput(fs.Arg(0), stdin)
	if err != nil {
		fmt.Fprintf(stderr, "certgate pin: %v\n", err)
		return 1
	}
	certs, err := certificates(name, data, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "certgate pin: %v\n", err)
		return 1
	}
	for i, cert := range certs {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printPins(stdout, cert)
	}
	return 0
}

func readInput(arg string, stdin io.Reader) (name string, data []byte, err error) {
	if arg == "-" {
		data, err = io.ReadAll(stdin)
		return "standard input", data, err
	}
	data, err = os.ReadFile(arg)
	return arg, data, err
}

// certificates returns every certificate in data, PEM or (when there is no
// PEM block at all) DER, as Windows exports a .cer file.
func certificates(name string, data []byte, stderr io.Writer) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	blocks := 0
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		blocks++
		if block.Type != "CERTIFICATE" {
			fmt.Fprintf(stderr, "certgate pin: %s: skipping PEM block %d (%s): not a certificate\n", name, blocks, sanitize(block.Type))
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: PEM block %d: %w", name, blocks, err)
		}
		certs = append(certs, cert)
	}
	if blocks == 0 {
		if der, err := x509.ParseCertificates(data); err == nil {
			certs = der
		}
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no certificate found: want PEM CERTIFICATE blocks or a DER certificate", name)
	}
	return certs, nil
}

// printPins prints one certificate. The subject goes through
// clientcert.Subject, which escapes control characters: a subject holding
// a newline could otherwise start a line of its own, and a pasted list
// would pin whatever that line says.
func printPins(w io.Writer, cert *x509.Certificate) {
	fmt.Fprintf(w, "# subject: %s\n", clientcert.Subject(cert))
	fmt.Fprintf(w, "# not-after: %s\n", cert.NotAfter.UTC().Format(time.RFC3339))
	for _, p := range pin.Of(cert).Pins() {
		fmt.Fprintln(w, p.String())
	}
}

// sanitize keeps a PEM type printable for the terminal.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
