package trust

import (
	"bytes"
	"strings"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

func TestParseCertificatesIsStrict(t *testing.T) {
	a, b := testpki.NewCA(t, "a"), testpki.NewCA(t, "b")
	bundle := append(append([]byte("# comment\n"), a.PEM...), b.PEM...)
	certs, err := ParseCertificates(bundle)
	if err != nil || len(certs) != 2 {
		t.Fatalf("two CAs: %d certificates, %v", len(certs), err)
	}
	truncated := append(append([]byte{}, a.PEM...), bytes.Replace(b.PEM, []byte("MII"), []byte("XXX"), 1)...)
	if _, err := ParseCertificates(truncated); err == nil || !strings.Contains(err.Error(), "PEM block 2") {
		t.Errorf("a damaged second certificate: %v, want an error naming block 2", err)
	}
	if _, err := ParseCertificates([]byte("not pem")); err == nil {
		t.Error("no certificate at all was accepted")
	}
}

func TestAddToPoolNamesTheBundle(t *testing.T) {
	a := testpki.NewCA(t, "a")
	cas := []snapshot.CACertificate{{Name: "ns/good", PEM: a.PEM}, {Name: "ns/bad", PEM: []byte("junk")}}
	if err := AddToPool(a.Pool(), cas); err == nil || !strings.Contains(err.Error(), "caCertificates[1] (ns/bad)") {
		t.Errorf("AddToPool = %v, want an error naming caCertificates[1] (ns/bad)", err)
	}
}
