package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

func runPinOn(t *testing.T, args []string, stdin []byte) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runPin(args, bytes.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// splitPinOutput cuts the output of certgate pin into its pin list part
// and its ClientCertPolicy YAML part.
func splitPinOutput(t *testing.T, out string) (list string, spec pinSpec) {
	t.Helper()
	list, yamlPart, ok := strings.Cut(out, "# ClientCertPolicy spec")
	if !ok {
		t.Fatalf("no ClientCertPolicy block:\n%s", out)
	}
	if err := yaml.UnmarshalStrict([]byte("#"+yamlPart), &spec); err != nil {
		t.Fatalf("the spec block is not ClientCertPolicy YAML: %v\n%s", err, yamlPart)
	}
	return list, spec
}

// pinSpec is the part of a ClientCertPolicy spec certgate pin prints.
type pinSpec struct {
	Pins     []v1alpha1.Pin       `json:"pins"`
	PinsFrom []v1alpha1.PinSource `json:"pinsFrom"`
}

func TestPrintedPinsAdmitTheCertificateAndNoOther(t *testing.T) {
	ca := testpki.NewCA(t, "partner CA")
	gateway := ca.Issue(t, testpki.Options{CommonName: "api-gateway"})
	sibling := ca.Issue(t, testpki.Options{CommonName: "sibling"})

	code, out, errOut := runPinOn(t, []string{writeFile(t, gateway.CertPEM)}, nil)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	list, spec := splitPinOutput(t, out)
	pins, err := pin.ParseList(list)
	if err != nil {
		t.Fatalf("output does not parse as a pin list: %v\n%s", err, out)
	}
	if len(pins) != 3 || len(spec.Pins) != 1 {
		t.Fatalf("%d pins in the list, %d in the spec, want 3 and 1:\n%s", len(pins), len(spec.Pins), out)
	}
	inline, err := pin.Parse(pin.SHA256, spec.Pins[0].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(pins, inline) {
		req := clientcert.Compile(&snapshot.Requirement{Policy: "payments/p", Pins: []pin.Pin{p}})
		if got := req.Check(clientcert.NewPeer(gateway.PeerState()), time.Now()); got != "" {
			t.Errorf("%s: the printed certificate got %q", p.Algorithm, got)
		}
		if got := req.Check(clientcert.NewPeer(sibling.PeerState()), time.Now()); got != clientcert.ReasonPinMismatch {
			t.Errorf("%s: another certificate of the same CA got %q, want pin_mismatch", p.Algorithm, got)
		}
	}
}

// TestPinLabelsLeafAndCAAndPinsOnlyTheLeaf: a bundle of a client
// certificate and its CA gets both labelled, but the spec block pins the
// leaf alone and references the file by its name.
func TestPinLabelsLeafAndCAAndPinsOnlyTheLeaf(t *testing.T) {
	ca := testpki.NewCA(t, "partner CA")
	client := ca.Issue(t, testpki.Options{CommonName: "api-gateway"})
	code, out, errOut := runPinOn(t, []string{writeFile(t, append(append([]byte{}, client.CertPEM...), ca.PEM...))}, nil)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"# certificate 1: leaf\n# subject: CN=api-gateway\n", "# certificate 2: CA: ", "# or keep the PEM in a ConfigMap and reference it:\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	_, spec := splitPinOutput(t, out)
	want := pin.Of(client.Leaf).Pins()[0].String()
	if len(spec.Pins) != 1 || "sha256:"+spec.Pins[0].SHA256 != want {
		t.Errorf("spec pins %+v, want only the leaf's %s", spec.Pins, want)
	}
	ref := v1alpha1.PinSource{Kind: v1alpha1.KindConfigMap, Name: "gateway", Key: "gateway.pem"}
	if len(spec.PinsFrom) != 1 || spec.PinsFrom[0] != ref {
		t.Errorf("pinsFrom %+v, want %+v", spec.PinsFrom, ref)
	}
}

func TestPinOutputFormat(t *testing.T) {
	ca := testpki.NewCA(t, "partner CA")
	notAfter := time.Date(2031, 5, 6, 7, 8, 9, 0, time.FixedZone("CEST", 2*3600))
	a := ca.Issue(t, testpki.Options{CommonName: "a", NotAfter: notAfter})
	b := ca.Issue(t, testpki.Options{CommonName: "b\nsha256:" + strings.Repeat("00", 32)})
	input := append(append(append([]byte{}, a.CertPEM...), a.KeyPEM...), b.CertPEM...)

	code, out, errOut := runPinOn(t, []string{"-"}, input)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	fa := pin.Of(a.Leaf).Pins()
	wantA := "# certificate 1: leaf\n# subject: CN=a\n# not-after: 2031-05-06T05:08:09Z\n" +
		fa[0].String() + "\n" + fa[1].String() + "\n" + fa[2].String() + "\n"
	blocks := strings.Split(out, "\n\n")
	if len(blocks) != 3 || blocks[0]+"\n" != wantA {
		t.Errorf("output:\n%s\nwant first block:\n%s", out, wantA)
	}
	if !strings.HasPrefix(blocks[1], `# certificate 2: leaf`+"\n"+`# subject: CN=b\0Asha256:`) {
		t.Errorf("a newline in the subject was not escaped:\n%s", blocks[1])
	}
	list, spec := splitPinOutput(t, out)
	if pins, _ := pin.ParseList(list); len(pins) != 6 {
		t.Errorf("output holds %d pins, want 6", len(pins))
	}
	if len(spec.Pins) != 2 || spec.PinsFrom[0].Name != "client-certificate" || spec.PinsFrom[0].Key != "tls.crt" {
		t.Errorf("spec from standard input %+v, want two pins and a made-up ConfigMap reference", spec)
	}
	if !strings.Contains(errOut, "skipping PEM block 2 (PRIVATE KEY)") {
		t.Errorf("stderr %q does not say the key block was skipped", errOut)
	}
	keyBody := strings.Split(string(a.KeyPEM), "\n")[1]
	if strings.Contains(out+errOut, keyBody[:16]) {
		t.Error("key material was printed")
	}
}

func TestPinReadsDER(t *testing.T) {
	cert := testpki.NewCA(t, "ca").Issue(t, testpki.Options{})
	code, out, _ := runPinOn(t, []string{writeFile(t, cert.Leaf.Raw)}, nil)
	if code != 0 || !strings.Contains(out, pin.Of(cert.Leaf).Pins()[0].String()) {
		t.Errorf("DER input: exit %d, output %q", code, out)
	}
}

func TestPinErrors(t *testing.T) {
	key := testpki.NewCA(t, "ca").Issue(t, testpki.Options{}).KeyPEM
	keyFile := writeFile(t, key)
	for _, tc := range []struct {
		name      string
		args      []string
		wantCode  int
		wantInErr string
	}{
		{"no arguments", nil, 2, "usage: certgate pin FILE|-"},
		{"two files", []string{"a.pem", "b.pem"}, 2, "usage:"},
		{"unknown flag", []string{"-x", "a.pem"}, 2, "usage:"},
		{"missing file", []string{filepath.Join(t.TempDir(), "nope.pem")}, 1, "nope.pem"},
		{"only a key", []string{keyFile}, 1, keyFile + ": no certificate found"},
		{"garbage on stdin", []string{"-"}, 1, "standard input: no certificate found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runPinOn(t, tc.args, []byte("garbage"))
			if code != tc.wantCode || !strings.Contains(errOut, tc.wantInErr) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and stderr containing %q", code, out, errOut, tc.wantCode, tc.wantInErr)
			}
			if strings.Contains(errOut, "PRIVATE KEY-----") {
				t.Error("key material on stderr")
			}
		})
	}
	if code, _, _ := runPinOn(t, []string{"-h"}, nil); code != 0 {
		t.Errorf("-h exits %d, want 0", code)
	}
}
