package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/certgate/certgate/internal/pki"
)

// Names every peer serves: one SNI name per TLS listener, so that Traefik's
// per-host TLS options never conflict and the same client works everywhere.
const (
	openHost = "open.bench.test"
	mtlsHost = "mtls.bench.test"
	httpHost = "http.bench.test"
	// backendHost is the name the proxies verify the backend's certificate for.
	backendHost = "backend.bench.test"
)

// material is the key material of one run, written as PEM files in dir.
// Every peer reads the same files.
type material struct {
	dir string
	// pin is the lowercase hex SHA-256 of the client certificate's DER;
	// pinSHA1 the SHA-1 that nginx exposes.
	pin, pinSHA1 string
	// decoys are pins of no certificate, for the 10,000-pin scenario.
	decoys []string
	// b64 and caQuoted are the files as certgate's YAML embeds them.
	b64      map[string]string
	caQuoted string
}

// path names a file of the material.
func (m *material) path(name string) string { return filepath.Join(m.dir, name) }

// issueMaterial makes a CA, the proxies' serving certificate, the client's
// certificate, the backend's serving certificate and the client
// certificate the proxies present to the backend, all ECDSA P-256.
func issueMaterial(dir string, decoys int) (*material, error) {
	ca, err := pki.NewCA(pki.CAOptions{Name: "bench CA", Organization: []string{"certgate bench"}})
	if err != nil {
		return nil, err
	}
	if err := write(dir, "ca.crt", ca.PEM); err != nil {
		return nil, err
	}
	leaves := []struct {
		name string
		opts pki.Options
	}{
		{"proxy", pki.Options{CommonName: "proxy", DNSNames: []string{openHost, mtlsHost, httpHost}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}},
		{"client", pki.Options{CommonName: "client", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}},
		{"backend", pki.Options{CommonName: "backend", DNSNames: []string{backendHost}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}},
		{"gateway-client", pki.Options{CommonName: "gateway", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}},
		// stranger is issued by the same CA but pinned nowhere: the pinned
		// routes must refuse it.
		{"stranger", pki.Options{CommonName: "stranger", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}},
	}
	m := &material{dir: dir}
	for _, l := range leaves {
		cert, err := ca.Issue(l.opts)
		if err != nil {
			return nil, err
		}
		if err := writeLeaf(dir, l.name, cert); err != nil {
			return nil, err
		}
		if l.name == "client" {
			m.pin, m.pinSHA1 = fingerprints(cert.Leaf.Raw)
		}
	}
	m.decoys = decoyPins(decoys)
	return m, m.embed()
}

// writeLeaf writes NAME.crt, NAME.key and NAME.pem (both, for HAProxy).
func writeLeaf(dir, name string, cert *pki.Cert) error {
	if err := write(dir, name+".crt", cert.CertPEM); err != nil {
		return err
	}
	if err := write(dir, name+".key", cert.KeyPEM); err != nil {
		return err
	}
	return write(dir, name+".pem", append(append([]byte{}, cert.CertPEM...), cert.KeyPEM...))
}

func write(dir, name string, data []byte) error {
	return os.WriteFile(filepath.Join(dir, name), data, 0o644)
}

func fingerprints(der []byte) (sha256hex, sha1hex string) {
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:]), sha1Hex(der)
}

// decoyPins are n distinct SHA-256 values that match no certificate.
func decoyPins(n int) []string {
	out := make([]string, n)
	for i := range out {
		s := sha256.Sum256([]byte(fmt.Sprintf("decoy %d", i)))
		out[i] = hex.EncodeToString(s[:])
	}
	return out
}

// readCert reads one PEM certificate of the material.
func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

// embed reads back the files certgate's YAML holds.
func (m *material) embed() error {
	m.b64 = map[string]string{}
	for _, name := range []string{"proxy.crt", "proxy.key", "gateway-client.crt", "gateway-client.key", "ca.crt"} {
		data, err := os.ReadFile(m.path(name))
		if err != nil {
			return err
		}
		m.b64[name] = base64.StdEncoding.EncodeToString(data)
		if name == "ca.crt" {
			m.caQuoted = strconv.Quote(string(data))
		}
	}
	return nil
}
