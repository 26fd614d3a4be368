package envtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	certgatev1alpha1 "github.com/certgate/certgate/api/v1alpha1"
)

const (
	modulePath     = "github.com/certgate/certgate"
	gatewayAPIPath = "sigs.k8s.io/gateway-api"
)

// DefaultGatewayAPICRDs are the Gateway API resources certgate reads or
// writes; Start installs them unless Options.GatewayAPICRDs says otherwise.
var DefaultGatewayAPICRDs = []string{"gatewayclasses", "gateways", "httproutes", "grpcroutes", "tlsroutes", "referencegrants", "backendtlspolicies"}

// Options tune Start. The zero value is what most tests want.
type Options struct {
	// GatewayAPIChannel is "standard" (default) or "experimental": which
	// channel of the Gateway API CRDs, from the sigs.k8s.io/gateway-api module
	// version in certgate's go.mod, to install.
	GatewayAPIChannel string
	// GatewayAPICRDs lists the Gateway API resources (plural names, as in
	// the CRD file names) to install; nil means DefaultGatewayAPICRDs, and
	// []string{"all"} every gateway.networking.k8s.io CRD of the channel.
	GatewayAPICRDs []string
	// ExtraCRDPaths are further CRD files or directories to install.
	ExtraCRDPaths []string
	// AttachControlPlaneOutput copies etcd's and kube-apiserver's output to
	// the test's stdout/stderr (also KUBEBUILDER_ATTACH_CONTROL_PLANE_OUTPUT=true).
	AttachControlPlaneOutput bool
	// StartTimeout bounds the control plane's start; default 3 minutes (a
	// loaded two-core machine is slow).
	StartTimeout time.Duration
}

// Env is a running control plane: etcd and kube-apiserver, with certgate's
// and the Gateway API CRDs installed. Start stops it at the test's cleanup.
type Env struct {
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// Client is a controller-runtime client using Scheme.
	Client client.Client
	// Scheme holds client-go's built-in types (core, discovery, apps, ...),
	// apiextensions v1, Gateway API v1 and v1beta1, and certgate v1alpha1.
	Scheme *runtime.Scheme
	// Environment is the underlying controller-runtime test environment.
	Environment *crenvtest.Environment
	// RepoRoot is the certgate checkout the test runs in.
	RepoRoot string
}

// NewScheme returns a scheme with everything Env.Scheme holds.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		apiextensionsv1.AddToScheme,
		gatewayv1.Install,
		gatewayv1beta1.Install,
		certgatev1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Start starts etcd and kube-apiserver from .cache/kube/bin, installs the
// CRDs and returns the running environment; it is stopped at t's cleanup. The
// calling test binary must run in its private network namespace (TestMain
// calls RunInNetNS). Failures are test failures, never skips: if the
// binaries are missing, run `make kube-binaries`.
func Start(t testing.TB) *Env { return StartWithOptions(t, Options{}) }

// StartWithOptions is Start with Options.
func StartWithOptions(t testing.TB, o Options) *Env {
	t.Helper()
	if !InNetNS() {
		t.Fatalf("envtest: not running in a private network namespace: the test package's TestMain must be\n" +
			"\tfunc TestMain(m *testing.M) { os.Exit(envtest.RunInNetNS(m)) }")
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("envtest: %v", err)
	}
	binDir := BinDir(root)
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if fi, err := os.Stat(filepath.Join(binDir, b)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			t.Fatalf("envtest: %s not found in %s: run make kube-binaries", b, binDir)
		}
	}

	crdPaths, err := crdPaths(root, o)
	if err != nil {
		t.Fatalf("envtest: %v", err)
	}
	scheme, err := NewScheme()
	if err != nil {
		t.Fatalf("envtest: building the scheme: %v", err)
	}

	if o.StartTimeout == 0 {
		o.StartTimeout = 3 * time.Minute
	}
	te := &crenvtest.Environment{
		Scheme:                   scheme,
		BinaryAssetsDirectory:    binDir,
		DownloadBinaryAssets:     false,
		CRDDirectoryPaths:        crdPaths,
		ErrorIfCRDPathMissing:    true,
		AttachControlPlaneOutput: o.AttachControlPlaneOutput,
		ControlPlaneStartTimeout: o.StartTimeout,
		ControlPlaneStopTimeout:  time.Minute,
	}
	// Exactly these binaries: KUBEBUILDER_ASSETS / TEST_ASSET_* from the
	// environment must not swap in others.
	api := te.ControlPlane.GetAPIServer()
	api.Path = filepath.Join(binDir, "kube-apiserver")
	te.ControlPlane.Etcd = &crenvtest.Etcd{Path: filepath.Join(binDir, "etcd")}
	te.ControlPlane.KubectlPath = filepath.Join(binDir, "kubectl")
	// The namespace has no default route, so the API server cannot guess an
	// address to advertise; give it the namespace's non-loopback address (the
	// "kubernetes" Service's EndpointSlice refuses loopback).
	api.Configure().Set("advertise-address", TestAddress())

	cfg, err := te.Start()
	if err != nil {
		_ = te.Stop()
		t.Fatalf("envtest: starting etcd and kube-apiserver from %s: %v\n"+
			"(rerun with KUBEBUILDER_ATTACH_CONTROL_PLANE_OUTPUT=true to see their logs)", binDir, err)
	}
	t.Cleanup(func() {
		if err := te.Stop(); err != nil {
			t.Errorf("envtest: stopping the control plane: %v", err)
		}
	})

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("envtest: creating a client: %v", err)
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme, Environment: te, RepoRoot: root}
}

// BinDir is where `make kube-binaries` puts etcd, kube-apiserver,
// kube-controller-manager and kubectl.
func BinDir(repoRoot string) string { return filepath.Join(repoRoot, ".cache", "kube", "bin") }

// RepoRoot finds the certgate checkout by walking up from the working
// directory (a test's is its package directory) to the go.mod of module
// github.com/certgate/certgate.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && moduleOf(b) == modulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s above %s", modulePath, wd)
		}
		dir = parent
	}
}

func moduleOf(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// crdPaths lists certgate's CRDs and the chosen Gateway API CRD files.
func crdPaths(root string, o Options) ([]string, error) {
	channel := o.GatewayAPIChannel
	if channel == "" {
		channel = "standard"
	}
	if channel != "standard" && channel != "experimental" {
		return nil, fmt.Errorf("GatewayAPIChannel %q: want standard or experimental", channel)
	}
	gwDir, err := GatewayAPIModuleDir(root)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(gwDir, "config", "crd", channel)
	names := o.GatewayAPICRDs
	if names == nil {
		names = DefaultGatewayAPICRDs
	}
	paths := []string{filepath.Join(root, "config", "crd", "bases")}
	if len(names) == 1 && names[0] == "all" {
		// Only CRD documents are installed; the safe-upgrades
		// ValidatingAdmissionPolicy file is skipped by the reader anyway.
		matches, err := filepath.Glob(filepath.Join(dir, "gateway.networking.k8s.io_*.yaml"))
		if err != nil || len(matches) == 0 {
			return nil, fmt.Errorf("no Gateway API CRDs in %s", dir)
		}
		return append(append(paths, matches...), o.ExtraCRDPaths...), nil
	}
	for _, n := range names {
		p := filepath.Join(dir, "gateway.networking.k8s.io_"+n+".yaml")
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("the Gateway API CRD %q: %w", n, err)
		}
		paths = append(paths, p)
	}
	return append(paths, o.ExtraCRDPaths...), nil
}

// GatewayAPIModuleDir is the module cache directory of the
// sigs.k8s.io/gateway-api version that certgate's go.mod selects (`go list
// -m`, offline: the module is already downloaded to build the test).
func GatewayAPIModuleDir(repoRoot string) (string, error) {
	// go test puts $GOROOT/bin first in the test binary's PATH.
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", gatewayAPIPath)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		return "", fmt.Errorf("locating module %s (go list -m in %s): %v: %s", gatewayAPIPath, repoRoot, err,
			strings.TrimSpace(stderr.String()))
	}
	return dir, nil
}
