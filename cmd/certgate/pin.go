package main

import (
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/internal/pemcert"
)

const pinUsage = `usage: certgate pin FILE|-

Prints the sha256, sha1 and spki-sha256 pins of each certificate in a PEM
file (or DER, or standard input for "-"), labelled leaf or CA, in the pin
line form a ClientCertPolicy's pinsFrom accepts; subject and expiry are
"#" comments. Then a ClientCertPolicy "pins:" block for the leaf
certificates, ready to paste under spec, and a "pinsFrom:" block for
keeping the PEM in a ConfigMap instead.
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
		printPins(stdout, i+1, cert)
		fmt.Fprintln(stdout)
	}
	printPolicy(stdout, fs.Arg(0), certs)
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
	b, err := pemcert.Parse(data)
	for _, s := range b.Skipped {
		fmt.Fprintf(stderr, "certgate pin: %s: skipping PEM block %d (%s): not a certificate\n", name, s.Block, sanitize(s.Type))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	certs := b.Certs()
	if b.Blocks == 0 {
		if der, err := x509.ParseCertificates(data); err == nil {
			certs = der
		}
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no certificate found: want PEM CERTIFICATE blocks or a DER certificate", name)
	}
	return certs, nil
}

// isLeaf tells a client certificate from a CA: a pin matches the
// certificate a client presents, so only a leaf's pins admit anyone.
func isLeaf(cert *x509.Certificate) bool { return !cert.IsCA }

// printPins prints one certificate. The subject goes through
// clientcert.Subject, which escapes control characters: a subject holding
// a newline could otherwise start a line of its own, and a pasted list
// would pin whatever that line says.
func printPins(w io.Writer, n int, cert *x509.Certificate) {
	if isLeaf(cert) {
		fmt.Fprintf(w, "# certificate %d: leaf\n", n)
	} else {
		fmt.Fprintf(w, "# certificate %d: CA: its pins admit only a client presenting this CA certificate itself; pin the leaf, or trust the CA with spec.trust\n", n)
	}
	fmt.Fprintf(w, "# subject: %s\n", clientcert.Subject(cert))
	fmt.Fprintf(w, "# not-after: %s\n", cert.NotAfter.UTC().Format(time.RFC3339))
	for _, p := range pin.Of(cert).Pins() {
		fmt.Fprintln(w, p.String())
	}
}

// printPolicy prints the ClientCertPolicy spec fields that pin the leaf
// certificates: inline pins, or a pinsFrom reference to a ConfigMap that
// holds the PEM as it is.
func printPolicy(w io.Writer, arg string, certs []*x509.Certificate) {
	leaves := slices.DeleteFunc(slices.Clone(certs), func(c *x509.Certificate) bool { return !isLeaf(c) })
	if len(leaves) == 0 {
		fmt.Fprintln(w, "# no leaf certificate: nothing to pin (trust a CA with spec.trust)")
		return
	}
	fmt.Fprintln(w, "# ClientCertPolicy spec: the leaf certificate(s) above")
	fmt.Fprintln(w, "pins:")
	for _, c := range leaves {
		fmt.Fprintf(w, "- sha256: %q # %s\n", pin.Of(c).Pins()[0].String()[len("sha256:"):], clientcert.Subject(c))
	}
	name, key := configMapRef(arg)
	fmt.Fprintln(w, "# or keep the PEM in a ConfigMap and reference it:")
	fmt.Fprintf(w, "#   kubectl create configmap %s --from-file=%s=FILE\n", name, key)
	fmt.Fprintf(w, "pinsFrom:\n- kind: ConfigMap\n  name: %s\n  key: %s\n", name, key)
}

// configMapRef suggests a ConfigMap name and key for the input file: its
// base name (a valid key) and that name without extension as an object
// name; "client-certificate" and "tls.crt" for standard input or a name
// that would not be valid.
func configMapRef(arg string) (name, key string) {
	name, key = "client-certificate", "tls.crt"
	base := filepath.Base(arg)
	if arg == "-" || !validKey.MatchString(base) {
		return name, key
	}
	if stem := strings.ToLower(strings.TrimSuffix(base, filepath.Ext(base))); validName.MatchString(stem) {
		name = stem
	}
	return name, base
}

var (
	validKey  = regexp.MustCompile(`^[-._a-zA-Z0-9]{1,253}$`)
	validName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
)

// sanitize keeps a PEM type printable for the terminal.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
