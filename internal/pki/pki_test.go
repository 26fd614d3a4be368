package pki

import (
	"crypto/x509"
	"testing"
)

func TestLeafOfAnIntermediateVerifiesAndPresentsItsChain(t *testing.T) {
	root, err := NewCA(CAOptions{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	mid, err := root.Intermediate(CAOptions{Name: "intermediate"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := mid.Issue(Options{CommonName: "client", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.Chain) != 2 || leaf.Chain[1].Subject.CommonName != "intermediate" {
		t.Fatalf("chain = %d certificates, want the leaf and the intermediate", len(leaf.Chain))
	}
	inter := x509.NewCertPool()
	inter.AddCert(leaf.Chain[1])
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: root.Pool(), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("leaf does not verify to the root: %v", err)
	}
}
