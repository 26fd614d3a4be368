package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testconfig"
	"github.com/certgate/certgate/internal/testlog"
	"github.com/certgate/certgate/internal/testnet"
)

// canaryPolicyYAML pins the route "api" to a pin list and a CA bundle read
// from Secrets that hold neither, each marked with a canary.
const canaryPolicyYAML = `apiVersion: v1
kind: Secret
metadata:
  name: not-pins
type: Opaque
stringData:
  pins: |
    S3CR3T-CANARY-first-line-of-a-secret
    sha256:S3CR3T-CANARY-second-line
  ca.crt: |
    -----BEGIN S3CR3T-CANARY-BLOCK-----
    AAAA
    -----END S3CR3T-CANARY-BLOCK-----
---
apiVersion: certgate.dev/v1alpha1
kind: ClientCertPolicy
metadata:
  name: reads-a-secret
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: api
  pinsFrom:
  - kind: Secret
    name: not-pins
    key: pins
  trust:
    caCertificateRefs:
    - kind: Secret
      name: not-pins
`

// TestStandaloneNeverShowsSecretContent serves a policy whose pinsFrom and
// trust references name a Secret that is not what they need, sends it a
// request, and checks that /status, the output and the log (access log
// included) report the problem by Secret, key and line, and never show
// the Secret's content.
func TestStandaloneNeverShowsSecretContent(t *testing.T) {
	dir, port := t.TempDir(), testnet.FreePort(t)
	writeConfigFile(t, dir, "gateway.yaml", fmt.Sprintf(testconfig.GatewayYAML, port, newBackend(t)))
	writeConfigFile(t, dir, "route.yaml", fmt.Sprintf(testconfig.RouteYAML, "/"))
	writeConfigFile(t, dir, "policy.yaml", canaryPolicyYAML)
	base, statusURL, out, logs := startStandaloneWithLog(t, dir, port)

	var report string
	eventually(t, 5*time.Second, "/status reports the pin list problem", func() bool {
		report = get(statusURL)
		return strings.Contains(report, `key \"pins\": line 1 has no algorithm`)
	})
	if code := status(base + "/"); code != http.StatusForbidden {
		t.Errorf("a request to the route of the invalid policy: %d, want 403", code)
	}
	eventually(t, 5*time.Second, "the log warns about the unusable requirement", func() bool {
		return strings.Contains(logs.String(), "cannot be used")
	})
	for what, text := range map[string]string{"/status": report, "output": out.String(), "log": logs.String()} {
		if strings.Contains(text, "S3CR3T") || strings.Contains(text, "CANARY") {
			t.Errorf("%s shows the Secret's content:\n%s", what, text)
		}
	}
	for _, want := range []string{`Secret default/not-pins key \"pins\"`, `Secret default/not-pins key \"ca.crt\": no PEM CERTIFICATE block`} {
		if !strings.Contains(report, want) {
			t.Errorf("/status does not report %s:\n%s", want, report)
		}
	}
}

// startStandaloneWithLog is startStandalone with the log and the access
// log kept too, and the /status URL of the metrics server.
func startStandaloneWithLog(t *testing.T, dir string, port int) (base, statusURL string, out, logs *testlog.Buffer) {
	t.Helper()
	out, logs = &testlog.Buffer{}, &testlog.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- serveStandalone(ctx, standaloneFlags{config: dir, metricsAddress: "127.0.0.1:0", accessLog: true}, out, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("standalone exited %d after shutdown", code)
		}
	})
	statusLine := regexp.MustCompile(`status on (http://\S+/status)`)
	eventually(t, 5*time.Second, "the status address is printed", func() bool { return statusLine.MatchString(out.String()) })
	return fmt.Sprintf("http://127.0.0.1:%d", port), statusLine.FindStringSubmatch(out.String())[1], out, logs
}

// get returns the body of GET url, or "" if it fails.
func get(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
