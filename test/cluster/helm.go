package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ChartRelease is a Helm release of charts/certgate in the local cluster.
type ChartRelease struct {
	Name      string
	Namespace string
}

// LocalChartValues are the only values the local cluster adds to the
// chart's defaults, each with the reason it needs it: none. The image
// needs none: `make image` names certgate's image as the chart's defaults
// do (image.repository, the chart's appVersion as tag), and the node agent
// runs it from that OCI layout. Gateways need none: the chart's default is
// a LoadBalancer Service per Gateway, and the cluster's load-balancer pool
// gives each an address, as MetalLB does on kind.
var LocalChartValues = []string{}

// Helm runs the Helm pinned in tools/helm (bin/helm; `make bin/helm`
// builds it) against the cluster, from the cluster's network namespace
// (the caller must run there, as tests under RunTests do).
func Helm(ctx context.Context, c *Config, args ...string) ([]byte, error) {
	helm := os.Getenv("HELM")
	if helm == "" {
		helm = filepath.Join(c.RepoRoot, "bin", "helm")
	}
	if _, err := os.Stat(helm); err != nil {
		return nil, fmt.Errorf("%v: run make bin/helm to build the pinned Helm", err)
	}
	cmd := exec.CommandContext(ctx, helm, append([]string{"--kubeconfig", c.Kubeconfig()}, args...)...)
	// Helm's caches and repository config stay in the state directory.
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(c.StateDir, "helm", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(c.StateDir, "helm", "config"),
		"HELM_DATA_HOME="+filepath.Join(c.StateDir, "helm", "data"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// InstallChart runs `helm install` of charts/certgate as r, with the
// chart's defaults, LocalChartValues and extra (--set …), and waits until
// the Deployment's replicas are ready (--wait). The Gateway API CRDs must
// be installed (Config.GatewayAPICRDs) and certgate's left to the chart
// (Config.ChartCRDs).
func InstallChart(ctx context.Context, c *Config, r ChartRelease, extra ...string) error {
	args := []string{"install", r.Name, filepath.Join(c.RepoRoot, "charts", "certgate"),
		"--namespace", r.Namespace, "--create-namespace", "--wait", "--timeout", "3m"}
	args = append(append(args, LocalChartValues...), extra...)
	_, err := Helm(ctx, c, args...)
	return err
}

// UpgradeChart runs `helm upgrade` of r, keeping LocalChartValues and
// setting extra on top of the release's values (--reuse-values), and waits
// for the rollout.
func UpgradeChart(ctx context.Context, c *Config, r ChartRelease, extra ...string) error {
	args := []string{"upgrade", r.Name, filepath.Join(c.RepoRoot, "charts", "certgate"),
		"--namespace", r.Namespace, "--reuse-values", "--wait", "--timeout", "3m"}
	_, err := Helm(ctx, c, append(args, extra...)...)
	return err
}

// UninstallChart runs `helm uninstall` of r and waits for its objects to
// go.
func UninstallChart(ctx context.Context, c *Config, r ChartRelease) error {
	_, err := Helm(ctx, c, "uninstall", r.Name, "--namespace", r.Namespace, "--wait", "--timeout", "2m")
	return err
}
