package pemcert

import (
	"encoding/pem"
	"errors"
	"testing"

	"github.com/certgate/certgate/internal/testpki"
)

func TestParseNumbersBlocksAndSkipsKeys(t *testing.T) {
	ca := testpki.NewCA(t, "pemcert CA")
	leaf := ca.Issue(t, testpki.Options{DNSNames: []string{"a.example"}})
	data := append(append(append([]byte{}, leaf.KeyPEM...), leaf.CertPEM...), ca.PEM...)
	b, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if b.Blocks != 3 || len(b.Skipped) != 1 || b.Skipped[0].Block != 1 || len(b.Certificates) != 2 {
		t.Fatalf("bundle %+v, want 3 blocks: a skipped key, then two certificates", b)
	}
	if b.Certificates[0].Block != 2 || !b.Certificates[0].Cert.Equal(leaf.Leaf) || b.Certificates[1].Block != 3 {
		t.Errorf("certificates %+v, want the leaf at block 2 and the CA at block 3", b.Certificates)
	}
}

func TestParseStopsAtACertificateThatDoesNotParse(t *testing.T) {
	ca := testpki.NewCA(t, "pemcert CA")
	bad := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	b, err := Parse(append(append(append([]byte{}, ca.PEM...), pem.EncodeToMemory(&pem.Block{Type: "X", Bytes: []byte{1}})...), bad...))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Block != 3 || pe.Certificate != 2 || len(b.Certificates) != 1 {
		t.Fatalf("error %v, bundle %+v: want a ParseError at block 3, certificate 2, after one certificate", err, b)
	}
}
