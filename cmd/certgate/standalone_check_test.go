package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/testconfig"
	"github.com/certgate/certgate/internal/testpki"
)

// policyYAML pins the route "api" to one SHA-256 pin.
const policyYAML = `apiVersion: certgate.dev/v1alpha1
kind: ClientCertPolicy
metadata:
  name: pinned
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: api
  pins:
  - sha256: "%s"
`

const goodPin = "9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08"

func checkDir(t *testing.T, pin string) string {
	t.Helper()
	dir := t.TempDir()
	writeConfigFile(t, dir, "gateway.yaml", fmt.Sprintf(testconfig.GatewayYAML, 8443, 8080))
	writeConfigFile(t, dir, "route.yaml", fmt.Sprintf(testconfig.RouteYAML, "/"))
	writeConfigFile(t, dir, "policy.yaml", fmt.Sprintf(policyYAML, pin))
	return dir
}

func runCheck(dir string) (int, string) {
	var out, errOut bytes.Buffer
	code := run([]string{"standalone", "--check", dir}, nil, &out, &errOut)
	return code, out.String() + errOut.String()
}

func TestCheckExitsZeroWhenEverythingIsAccepted(t *testing.T) {
	code, out := runCheck(checkDir(t, goodPin))
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	if !strings.Contains(out, "policy.yaml: ClientCertPolicy default/pinned ancestor default/gw: condition Accepted=True") {
		t.Errorf("the policy's conditions are not printed:\n%s", out)
	}
}

func TestCheckExitsNonZeroOnAnInvalidPolicyAndNamesIt(t *testing.T) {
	code, out := runCheck(checkDir(t, "not-a-pin"))
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	if !strings.Contains(out, "policy.yaml: ClientCertPolicy default/pinned ancestor default/gw: condition Accepted=False Invalid: ") ||
		!strings.Contains(out, "spec.pins[0]") {
		t.Errorf("no line naming the file, the policy and spec.pins[0]:\n%s", out)
	}
}

func TestCheckExitsNonZeroOnAFileThatDoesNotDecode(t *testing.T) {
	dir := checkDir(t, goodPin)
	writeConfigFile(t, dir, "typo.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndtaa: {}\n")
	code, out := runCheck(dir)
	want := `error: typo.yaml:1: document 1: ConfigMap: strict decoding error: unknown field "dtaa"`
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want 1 and %s:\n%s", code, want, out)
	}
}

// TestCheckValidatesTheClientCertPolicyReferenceExamples checks the
// examples of docs/clientcertpolicy.md, with the serving certificate
// Secret they leave out (it holds a key) generated here.
func TestCheckValidatesTheClientCertPolicyReferenceExamples(t *testing.T) {
	dir := t.TempDir()
	const ref = "../../examples/quickstart/reference"
	files, err := filepath.Glob(filepath.Join(ref, "*.yaml"))
	if err != nil || len(files) < 5 {
		t.Fatalf("reference examples: %v, %d files", err, len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeConfigFile(t, dir, filepath.Base(f), string(data))
	}
	serving := testpki.NewCA(t, "reference CA").Issue(t, testpki.Options{DNSNames: []string{"payments.example.com"}})
	writeConfigFile(t, dir, "secret.yaml", fmt.Sprintf(
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: payments-tls\n  namespace: payments\ntype: kubernetes.io/tls\ndata:\n  tls.crt: %s\n  tls.key: %s\n",
		base64.StdEncoding.EncodeToString(serving.CertPEM), base64.StdEncoding.EncodeToString(serving.KeyPEM)))
	code, out := runCheck(dir)
	if code != 0 {
		t.Fatalf("exit %d on the examples of docs/clientcertpolicy.md, want 0:\n%s", code, out)
	}
}

func TestStandaloneBadFlagsExitTwoWithUsage(t *testing.T) {
	for _, args := range [][]string{
		{"standalone"},
		{"standalone", "--config", t.TempDir(), "--check", t.TempDir()},
		{"standalone", "--config", "/does/not/exist"},
		{"standalone", "--bogus"},
		{"standalone", "--config", t.TempDir(), "extra"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, nil, &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if !strings.Contains(errOut.String(), "usage: certgate standalone") && !strings.Contains(errOut.String(), "not a directory") {
			t.Errorf("%q: no usage or reason on stderr:\n%s", args, errOut.String())
		}
	}
}

// TestRegularExpressionTheDataPlaneCannotAnchorIsRefusedOnItsOwn: a
// header regex nested 999 groups deep is valid RE2 alone, but the data
// plane anchors it in one more group, which RE2 refuses as nesting too
// deeply. Accepted by the translator, it would make the data plane refuse
// the whole snapshot, every other route with it. The translator checks it
// as the data plane compiles it, so the one route is refused, with a
// condition naming the field, and the others are served.
func TestRegularExpressionTheDataPlaneCannotAnchorIsRefusedOnItsOwn(t *testing.T) {
	dir := checkDir(t, goodPin)
	deep := strings.Repeat("(", 999) + "a" + strings.Repeat(")", 999)
	writeConfigFile(t, dir, "deep.yaml", `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: deep
spec:
  parentRefs:
  - name: gw
  rules:
  - matches:
    - headers:
      - name: x-deep
        type: RegularExpression
        value: "`+deep+`"
    backendRefs:
    - name: backend
      port: 80
`)
	code, out := runCheck(dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	if !strings.Contains(out, "deep.yaml: HTTPRoute default/deep parentRef default/gw: condition Accepted=False UnsupportedValue: no rule can be served: rule 0: matches[0]: headers[0]:") ||
		!strings.Contains(out, "expression nests too deeply") {
		t.Errorf("the deep route is not refused with a condition naming the field and the fault:\n%s", out)
	}
	if !strings.Contains(out, "route.yaml: HTTPRoute default/api parentRef default/gw: condition Accepted=True") {
		t.Errorf("the other route is not served:\n%s", out)
	}
	if strings.Contains(out, "the translated configuration is not valid") {
		t.Errorf("the snapshot as a whole was refused:\n%s", out)
	}
}
