package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/internal/testpki"
)

// explainConfigYAML is an HTTPS listener with a route whose "admin" rule
// is pinned to one certificate and whose "public" rule asks nothing. %s
// are the serving certificate, its key and the admin pin.
const explainConfigYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: certgate
  listeners:
  - name: https
    protocol: HTTPS
    port: 8443
    hostname: app.example.com
    tls:
      certificateRefs:
      - name: serving
  - name: http
    protocol: HTTP
    port: 8080
---
apiVersion: v1
kind: Secret
metadata:
  name: serving
type: kubernetes.io/tls
data:
  tls.crt: %s
  tls.key: %s
---
apiVersion: v1
kind: Service
metadata:
  name: backend
spec:
  ports:
  - name: http
    port: 80
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: app
spec:
  parentRefs:
  - name: gw
  rules:
  - name: admin
    matches: [{path: {type: PathPrefix, value: /admin}}]
    backendRefs: [{name: backend, port: 80}]
  - name: public
    backendRefs: [{name: backend, port: 80}]
---
` + explainPolicyYAML

// explainPolicyYAML pins the "admin" rule of route "app" to the SHA-256
// digest %s, as docs/explain.md's recipe does.
const explainPolicyYAML = `apiVersion: certgate.dev/v1alpha1
kind: ClientCertPolicy
metadata:
  name: admin-pin
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: app
    sectionName: admin
  pins:
  - sha256: "%s"
`

// explainFixture writes the configuration and two client certificates,
// the pinned one and another, and returns the directory and their files.
func explainFixture(t *testing.T) (dir, pinned, other string) {
	t.Helper()
	ca := testpki.NewCA(t, "explain CA")
	serving := ca.Issue(t, testpki.Options{DNSNames: []string{"app.example.com"}})
	admin := ca.Issue(t, testpki.Options{CommonName: "admin"})
	stranger := ca.Issue(t, testpki.Options{CommonName: "stranger"})
	sum := sha256.Sum256(admin.Leaf.Raw)
	dir = t.TempDir()
	writeConfigFile(t, dir, "config.yaml", fmt.Sprintf(explainConfigYAML,
		base64.StdEncoding.EncodeToString(serving.CertPEM), base64.StdEncoding.EncodeToString(serving.KeyPEM), hex.EncodeToString(sum[:])))
	certs := t.TempDir()
	pinned, other = filepath.Join(certs, "admin.pem"), filepath.Join(certs, "stranger.pem")
	for file, c := range map[string]*testpki.Cert{pinned: admin, other: stranger} {
		if err := os.WriteFile(file, append(append([]byte{}, c.CertPEM...), c.KeyPEM...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, pinned, other
}

// explainJSON runs certgate explain --output json with args.
func explainJSON(t *testing.T, args ...string) explanation {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(append([]string{"explain", "--output", "json"}, args...), nil, &out, &errOut); code != 0 {
		t.Fatalf("explain %q: exit %d: %s", args, code, errOut.String())
	}
	var e explanation
	if err := json.Unmarshal(out.Bytes(), &e); err != nil {
		t.Fatalf("explain %q: %v:\n%s", args, err, out.String())
	}
	return e
}

func TestExplainNamesListenerRulePolicyAndVerdict(t *testing.T) {
	dir, pinned, other := explainFixture(t)
	app := []string{"--config", dir, "--host", "app.example.com", "--tls"}
	for _, tc := range []struct {
		name string
		args []string
		want dataplane.Decision
	}{
		{"pinned rule, pinned certificate", append(app, "--path", "/admin/users", "--cert", pinned),
			dataplane.Decision{Status: 0, Listener: "default/gw/https", Route: "default/app", Rule: "admin", Policy: "default/admin-pin", Reason: "pass"}},
		{"pinned rule, no certificate", append(app, "--path", "/admin"),
			dataplane.Decision{Status: 403, Listener: "default/gw/https", Route: "default/app", Rule: "admin", Policy: "default/admin-pin", Reason: "missing"}},
		{"pinned rule, another certificate", append(app, "--path", "/admin", "--cert", other),
			dataplane.Decision{Status: 403, Listener: "default/gw/https", Route: "default/app", Rule: "admin", Policy: "default/admin-pin", Reason: "pin_mismatch"}},
		{"/ADMIN reaches the public rule", append(app, "--path", "/ADMIN", "--cert", other),
			dataplane.Decision{Status: 403, Listener: "default/gw/https", Route: "default/app", Rule: "public", Reason: "path_confusion", GuardedBy: "default/admin-pin"}},
		{"public rule", append(app, "--path", "/index.html"),
			dataplane.Decision{Status: 0, Listener: "default/gw/https", Route: "default/app", Rule: "public"}},
		{"plain HTTP to the pinned rule", []string{"--config", dir, "--host", "app.example.com", "--path", "/admin"},
			dataplane.Decision{Status: 403, Listener: "default/gw/http", Route: "default/app", Rule: "admin", Policy: "default/admin-pin", Reason: "no_tls"}},
		{"unknown host", append(app[:4:4], "--tls", "--host", "other.example.com"),
			dataplane.Decision{Status: 404}},
		{"--listener picks by section name", []string{"--config", dir, "--host", "app.example.com", "--listener", "http", "--path", "/x"},
			dataplane.Decision{Status: 0, Listener: "default/gw/http", Route: "default/app", Rule: "public"}},
		{"--cert alone picks the HTTPS listener", []string{"--config", dir, "--host", "app.example.com:8443", "--path", "/admin", "--cert", pinned},
			dataplane.Decision{Status: 0, Listener: "default/gw/https", Route: "default/app", Rule: "admin", Policy: "default/admin-pin", Reason: "pass"}},
		{"--port picks the HTTP listener", append(app, "--port", "8080", "--path", "/"),
			dataplane.Decision{Status: 0, Listener: "default/gw/http", Route: "default/app", Rule: "public"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := *explainJSON(t, tc.args...).Decision
			if got.Status != tc.want.Status || got.Listener != tc.want.Listener || got.Route != tc.want.Route ||
				got.Rule != tc.want.Rule || got.Policy != tc.want.Policy || got.Reason != tc.want.Reason || got.GuardedBy != tc.want.GuardedBy {
				t.Errorf("decision %+v, want %+v", got, tc.want)
			}
			if got.Why == "" {
				t.Error("the decision says nothing about why")
			}
		})
	}
}

func TestExplainTextShowsEveryStep(t *testing.T) {
	dir, _, other := explainFixture(t)
	var out, errOut bytes.Buffer
	code := run([]string{"explain", "--config", dir, "--host", "app.example.com", "--tls", "--path", "/admin", "--cert", other}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{
		"request   GET https://app.example.com:8443/admin\n",
		"cert      CN=stranger",
		"listener  default/gw/https (Gateway default/gw)\n",
		"route     HTTPRoute default/app, rule admin\n",
		"policy    ClientCertPolicy default/admin-pin (Enforce)\n",
		"verdict   403 Forbidden [pin_mismatch]: ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}

func TestExplainBadFlagsExitTwo(t *testing.T) {
	dir, _, _ := explainFixture(t)
	for _, args := range [][]string{
		{"explain", "--host", "a"},
		{"explain", "--config", dir},
		{"explain", "--config", dir, "--host", "a", "--port", "1", "--listener", "https"},
		{"explain", "--config", dir, "--host", "a", "--output", "yaml"},
		{"explain", "--config", dir, "--host", "a", "--header", "novalue"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, nil, &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", args, code, errOut.String())
		}
	}
}

func TestExplainFailsOnAPortWithoutListener(t *testing.T) {
	dir, _, _ := explainFixture(t)
	var out, errOut bytes.Buffer
	code := run([]string{"explain", "--config", dir, "--host", "a", "--port", "9999"}, nil, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "no listener on port 9999; listeners: default/gw/http (HTTP port 8080)") {
		t.Errorf("exit %d, want 1 and the listeners named: %s", code, errOut.String())
	}
}

// TestExplainServesTheDocumentedExample runs docs/explain.md's first
// example over examples/explain, with the Secret and policy its recipe
// generates made here.
func TestExplainServesTheDocumentedExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/explain/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ca := testpki.NewCA(t, "docs CA")
	serving := ca.Issue(t, testpki.Options{DNSNames: []string{"app.example.com"}})
	admin := ca.Issue(t, testpki.Options{CommonName: "admin"})
	sum := sha256.Sum256(admin.Leaf.Raw)
	dir := t.TempDir()
	writeConfigFile(t, dir, "config.yaml", string(data))
	writeConfigFile(t, dir, "secret.yaml", fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-tls\ntype: kubernetes.io/tls\ndata:\n  tls.crt: %s\n  tls.key: %s\n",
		base64.StdEncoding.EncodeToString(serving.CertPEM), base64.StdEncoding.EncodeToString(serving.KeyPEM)))
	writeConfigFile(t, dir, "policy.yaml", fmt.Sprintf(explainPolicyYAML, hex.EncodeToString(sum[:])))
	pem := filepath.Join(t.TempDir(), "admin.pem")
	if err := os.WriteFile(pem, admin.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	e := explainJSON(t, "--config", dir, "--host", "app.example.com", "--tls", "--path", "/admin/users", "--cert", pem)
	d := e.Decision
	if d.Status != 0 || d.Listener != "default/gw/https" || d.Rule != "admin" || d.Policy != "default/admin-pin" || d.Reason != "pass" || len(e.Notes) != 0 {
		t.Errorf("explanation %+v, notes %q: want a pass on the admin rule and no problem", *d, e.Notes)
	}
	if len(d.Backends) != 1 || d.Backends[0].Name != "default/app:8080" || d.Backends[0].Endpoints != 1 {
		t.Errorf("backends %+v, want default/app:8080 with its one endpoint", d.Backends)
	}
}
