//go:build conformance

// Package conformance runs the Gateway API conformance suite
// (sigs.k8s.io/gateway-api/conformance, the version in go.mod, unmodified)
// against certgate installed by its Helm chart in the local cluster
// (test/cluster): `helm install` of charts/certgate with its defaults and
// cluster.LocalChartValues, two controller Pods from the image `make image`
// builds, each Gateway behind a LoadBalancer Service. It writes the suite's
// report to docs/conformance/.
//
//	make conformance
//	go test -tags conformance -timeout 60m -v ./test/conformance/ -args -run-test=HTTPRouteSimpleSameNamespace -debug
//
// The test binary runs inside the cluster's network namespace (see
// cluster.RunTests), so the suite's default round tripper reaches the
// Gateways' load-balancer addresses, which exist only there.
package conformance_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

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
	os.Exit(cluster.RunTests(m, cluster.Config{GatewayAPICRDs: crdChannel, ChartCRDs: true, CoreDNS: true}))
}

const gatewayClass = "certgate"

func TestConformance(t *testing.T) {
	c := cluster.Current(t)
	ctx := context.Background()

	install(t, c)

	// The suite's KUBECONFIG: the cluster's admin.
	t.Setenv("KUBECONFIG", c.Kubeconfig())
	opts := conformance.DefaultOptions(t)

	// The chart's GatewayClass (gatewayClass.create).
	gc := &gatewayv1.GatewayClass{}
	// The suite reads the supported features from the GatewayClass status.
	deadline := time.Now().Add(time.Minute)
	for {
		if err := opts.Client.Get(ctx, clientKey(gatewayClass), gc); err == nil && len(gc.Status.SupportedFeatures) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GatewayClass %s has no status.supportedFeatures after a minute; the Pods' logs are in %s",
				gatewayClass, c.PodsDir())
		}
		time.Sleep(200 * time.Millisecond)
	}

	version := gatewayAPIVersion(t, c)
	opts.GatewayClassName = gatewayClass
	opts.ConformanceProfiles = []suite.ConformanceProfileName{
		suite.GatewayHTTPConformanceProfileName,
		suite.GatewayGRPCConformanceProfileName,
		suite.GatewayTLSConformanceProfileName,
	}
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
