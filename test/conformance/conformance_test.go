//go:build conformance

// Package conformance runs the Gateway API conformance suite
// (sigs.k8s.io/gateway-api/conformance, the version in go.mod, unmodified)
// against `certgate controller --gateway-address-pool` in the local cluster
// (test/cluster), and writes the suite's report to docs/conformance/.
//
//	make conformance
//	go test -tags conformance -timeout 60m -v ./test/conformance/ -args -run-test=HTTPRouteSimpleSameNamespace -debug
//
// The test binary runs inside the cluster's network namespace (see
// cluster.RunTests), so the suite's default round tripper reaches the
// Gateways' addresses from the pool, which exist only there.
package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"

	"github.com/certgate/certgate/test/cluster"
)

// crdChannel is the Gateway API CRD channel the cluster installs. It is
// experimental because certgate claims features whose fields exist only
// there (HTTPRoute rules[].retry for HTTPRouteRetry*): with the standard
// CRDs the API server prunes those fields and the tests of a claimed
// feature would run against routes that lost it.
const crdChannel = "experimental"

func TestMain(m *testing.M) {
	os.Exit(cluster.RunTests(m, cluster.Config{GatewayAPICRDs: crdChannel, CoreDNS: true, DirectAPIServer: true}))
}

const gatewayClass = "certgate"

func TestConformance(t *testing.T) {
	c := cluster.Current(t)
	ctx := context.Background()

	// certgate controller, exactly as in production but for the address
	// pool (bare-metal mode) and a kubeconfig.
	bin := filepath.Join(c.ToolDir(), "certgate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/certgate")
	build.Dir = c.RepoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building certgate: %v\n%s", err, out)
	}
	if _, err := cluster.Start(c, "certgate", bin, "controller",
		"--kubeconfig="+c.Kubeconfig(),
		"--gateway-address-pool="+c.GatewayPool,
		"--leader-elect=false",
		"--metrics-address="+c.NodeIP+":9090",
		"--health-address="+c.NodeIP+":9091",
	); err != nil {
		t.Fatal(err)
	}
	t.Logf("certgate controller started; log: %s", filepath.Join(c.LogDir(), "certgate.log"))

	// The suite's KUBECONFIG: the cluster's admin.
	t.Setenv("KUBECONFIG", c.Kubeconfig())
	opts := conformance.DefaultOptions(t)

	gc := &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: gatewayClass},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: "certgate.dev/gateway-controller"},
	}
	if err := opts.Client.Create(ctx, gc); err != nil {
		t.Fatal(err)
	}
	// The suite reads the supported features from the GatewayClass status.
	deadline := time.Now().Add(time.Minute)
	for {
		if err := opts.Client.Get(ctx, clientKey(gatewayClass), gc); err == nil && len(gc.Status.SupportedFeatures) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GatewayClass %s has no status.supportedFeatures after a minute; certgate's log: %s",
				gatewayClass, filepath.Join(c.LogDir(), "certgate.log"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	version := gatewayAPIVersion(t, c)
	opts.GatewayClassName = gatewayClass
	opts.ConformanceProfiles = []suite.ConformanceProfileName{suite.GatewayHTTPConformanceProfileName}
	opts.CleanupBaseResources = true
	implVersion := implementationVersion()
	opts.Implementation = confv1.Implementation{
		Organization: "certgate",
		Project:      "certgate",
		URL:          "https://github.com/certgate/certgate",
		Version:      implVersion,
		Contact:      []string{"https://github.com/certgate/certgate/issues"},
	}
	// The upstream layout (gateway-api conformance/reports/README.md):
	// <gateway-api version>/<channel>-<implementation version>-<mode>-report.yaml.
	// Only a run of the whole suite writes it.
	if opts.RunTest == "" && len(opts.SkipTests) == 0 {
		opts.ReportOutputPath = filepath.Join(c.RepoRoot, "docs", "conformance", version,
			crdChannel+"-"+implVersion+"-"+opts.Mode+"-report.yaml")
		if err := os.MkdirAll(filepath.Dir(opts.ReportOutputPath), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("certgate under test: %s (%s)", implVersion, gitDescribe(c))
	t.Logf("supported features from GatewayClass %s: %d", gatewayClass, len(gc.Status.SupportedFeatures))
	start := time.Now()
	conformance.RunConformanceWithOptions(t, opts)
	t.Logf("conformance suite wall time: %v", time.Since(start).Round(time.Second))
}
