package translator

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/internal/testpki"
)

func TestPEMPinsPinEachLeafAndSkipTheKey(t *testing.T) {
	ca := testpki.NewCA(t, "ca")
	a, b := ca.Issue(t, testpki.Options{CommonName: "a"}), ca.Issue(t, testpki.Options{CommonName: "b"})
	data := append(append(append([]byte("subject=CN=a\n"), a.CertPEM...), a.KeyPEM...), b.CertPEM...)
	for pinType, alg := range map[v1alpha1.PEMPinType]pin.Algorithm{"": pin.SHA256, v1alpha1.PEMPinCertificate: pin.SHA256, v1alpha1.PEMPinSPKI: pin.SPKISHA256} {
		pins, problem := pemPins(data, pinType)
		if problem != "" || len(pins) != 2 {
			t.Fatalf("pinType %q: pins %v, problem %q; want two pins", pinType, pins, problem)
		}
		for i, leaf := range []*testpki.Cert{a, b} {
			if want := certificatePin(leaf.Leaf, alg); pins[i].String() != want.String() {
				t.Errorf("pinType %q: pin %d = %s, want %s", pinType, i, pins[i], want)
			}
		}
	}
}

func TestPEMPinsPinTheLeafOfAChainAndNotItsCAs(t *testing.T) {
	ca := testpki.NewCA(t, "ca")
	client := ca.Intermediate(t, testpki.CAOptions{Name: "intermediate"}).Issue(t, testpki.Options{CommonName: "client"})
	// tls.crt as cert-manager writes it: the leaf, then its issuers.
	data := append(append([]byte{}, client.CertPEM...), ca.PEM...)
	pins, problem := pemPins(data, "")
	if problem != "" || len(pins) != 1 {
		t.Fatalf("pins %v, problem %q; want the leaf's pin only", pins, problem)
	}
	if want := certificatePin(client.Leaf, pin.SHA256); pins[0].String() != want.String() {
		t.Errorf("pin = %s, want the leaf's %s", pins[0], want)
	}
}

func TestPEMPinsRefuseProblemsWithoutQuotingThem(t *testing.T) {
	ca := testpki.NewCA(t, "ca")
	viaIntermediate := ca.Intermediate(t, testpki.CAOptions{Name: "intermediate"}).Issue(t, testpki.Options{CommonName: "client"})
	canary := "-----BEGIN CERTIFICATE-----\n" + base64.StdEncoding.EncodeToString([]byte("S3CR3T-CANARY")) + "\n-----END CERTIFICATE-----\n"
	for _, tc := range []struct {
		name, data string
		pinType    v1alpha1.PEMPinType
		want       string
	}{
		{"a CA alone", string(ca.PEM), "", "holds only CA certificates"},
		{"a block that is not X.509", canary, "", "certificate 1 does not parse as X.509"},
		{"a key alone", string(viaIntermediate.KeyPEM), "", "holds PEM but no CERTIFICATE block"},
		{"an unknown pinType", string(viaIntermediate.CertPEM), "SHA1", `pinType "SHA1" is not Certificate or SPKI`},
	} {
		pins, problem := pemPins([]byte(tc.data), tc.pinType)
		if pins != nil || !strings.Contains(problem, tc.want) {
			t.Errorf("%s: pins %v, problem %q; want none and %q", tc.name, pins, problem, tc.want)
		}
		if strings.Contains(problem, "S3CR3T") || strings.Contains(problem, "BEGIN") {
			t.Errorf("%s: problem %q quotes the content", tc.name, problem)
		}
	}
}
