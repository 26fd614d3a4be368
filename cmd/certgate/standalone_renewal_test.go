package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testpki"
)

// TestRenewedPEMKeepsThePreviousCertificateForKeepPrevious replaces the
// certificate in a pinned ConfigMap with a renewed one (a new key), over
// real TLS: within keepPrevious (2s) both the renewed client and the
// previous one get 200, the previous one counted as passing on a retiring
// pin and shown in status; after it, the previous one gets 403 on its
// already-open connection, with no further change to the configuration.
func TestRenewedPEMKeepsThePreviousCertificateForKeepPrevious(t *testing.T) {
	const host = "api.example.test"
	ca := testpki.NewCA(t, "standalone CA")
	serving := ca.Issue(t, testpki.Options{DNSNames: []string{host}})
	previous, renewed := ca.Issue(t, testpki.Options{CommonName: "client"}), ca.Issue(t, testpki.Options{CommonName: "client"})
	dir, port := writePEMPolicyConfig(t, serving, "2s", previous)
	_, statusURL, _, _ := startStandaloneWithLog(t, dir, port)
	metricsURL := strings.TrimSuffix(statusURL, "/status") + "/metrics"

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	oldClient, newClient := httpsClient(ca, previous, host, addr), httpsClient(ca, renewed, host, addr)
	eventually(t, 5*time.Second, "the pinned client gets 200", func() bool { return httpsStatus(oldClient, host) == 200 })

	writeConfigFile(t, dir, "policy.yaml", fmt.Sprintf(pemPolicyYAML, "2s", indent(renewed.CertPEM)))
	eventually(t, 5*time.Second, "the renewed client gets 200", func() bool { return httpsStatus(newClient, host) == 200 })
	if n := retiringPasses(t, metricsURL); n != 0 {
		t.Errorf("certgate_clientcert_retiring_pin_passes_total = %v before the previous client called, want 0: the renewed client's pin is not retiring", n)
	}
	if code, reused := httpsStatusReused(oldClient, host); code != http.StatusOK || !reused {
		t.Fatalf("the previous client within keepPrevious: %d (connection reused: %v), want 200 on its open connection", code, reused)
	}
	if n := retiringPasses(t, metricsURL); n != 1 {
		t.Errorf("certgate_clientcert_retiring_pin_passes_total = %v, want 1 after the previous client passed once", n)
	}
	if st := get(statusURL); !strings.Contains(st, `"retiringPins"`) || !strings.Contains(st, `"spec.pinsFrom[0]"`) {
		t.Errorf("/status does not list the retiring pin:\n%s", st)
	}

	var code int
	var reused bool
	took := eventually(t, 4*time.Second, "the previous client gets 403 after keepPrevious", func() bool {
		code, reused = httpsStatusReused(oldClient, host)
		return code == http.StatusForbidden
	})
	if !reused {
		t.Errorf("the 403 after keepPrevious came on a new connection, want the open one (after %s)", took)
	}
	if code := httpsStatus(newClient, host); code != http.StatusOK {
		t.Errorf("the renewed client after keepPrevious: %d, want 200", code)
	}
}

// retiringPasses reads certgate_clientcert_retiring_pin_passes_total for
// the route default/api from the metrics endpoint.
func retiringPasses(t *testing.T, url string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^certgate_clientcert_retiring_pin_passes_total\{namespace="default",route="api",rule="[^"]*"\} (\S+)$`)
	m := re.FindStringSubmatch(get(url))
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
