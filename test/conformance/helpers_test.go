//go:build conformance

package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/certgate/certgate/test/cluster"
)

func clientKey(name string) client.ObjectKey { return client.ObjectKey{Name: name} }

// gatewayAPIVersion is the sigs.k8s.io/gateway-api/conformance version in
// go.mod (the suite that runs).
func gatewayAPIVersion(t *testing.T, c *cluster.Config) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "sigs.k8s.io/gateway-api/conformance")
	cmd.Dir = c.RepoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m sigs.k8s.io/gateway-api/conformance: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// implementationVersion is the certgate version the report names: the
// CERTGATE_VERSION environment variable (a release's semver), or "main"
// (as upstream reports of unreleased code do). The file name of the report
// contains it, so the committed report of the current version is
// overwritten by each run, not accumulated.
func implementationVersion() string {
	if v := strings.TrimSpace(os.Getenv("CERTGATE_VERSION")); v != "" {
		return v
	}
	return "main"
}

// gitDescribe names the certgate commit under test, for the log.
func gitDescribe(c *cluster.Config) string {
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = c.RepoRoot
	out, err := cmd.Output()
	if err != nil || len(strings.TrimSpace(string(out))) == 0 {
		return "dev"
	}
	return strings.TrimSpace(string(out))
}

// release is certgate's Helm release, installed once for every test of
// the package (the conformance suite, the mission, the faults).
var (
	release     = cluster.ChartRelease{Name: "certgate", Namespace: "certgate-system"}
	installOnce sync.Once
	installErr  error
)

// install runs `helm install` of charts/certgate once (see
// cluster.InstallChart) and fails the test if it failed.
func install(t *testing.T, c *cluster.Config) {
	t.Helper()
	installOnce.Do(func() {
		start := time.Now()
		installErr = cluster.InstallChart(context.Background(), c, release)
		t.Logf("helm install %s (namespace %s): %v (err: %v)", release.Name, release.Namespace,
			time.Since(start).Round(100*time.Millisecond), installErr)
	})
	if installErr != nil {
		t.Fatalf("installing the chart: %v; the Pods' logs are in %s", installErr, c.PodsDir())
	}
}
