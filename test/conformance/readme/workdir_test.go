//go:build conformance

package readme_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/test/cluster"
	"github.com/certgate/certgate/test/envtest"
)

// crdURL is where the README takes the Gateway API CRDs from, and
// crdFile the same file, assembled from the pinned module: the test sends
// nothing off the machine.
const (
	crdURL  = "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.3/experimental-install.yaml"
	crdFile = "experimental-install.yaml"
)

// workdir is the newcomer's working directory: the checkout's charts/
// (a link), the certificates the README names, and .bin/, first on PATH,
// with kubectl, helm and certgate.
type workdir struct {
	dir, bin  string
	clientPin string // the sha256 of client.crt, computed here
}

func newWorkdir(t *testing.T, c *cluster.Config) *workdir {
	t.Helper()
	w := &workdir{dir: t.TempDir()}
	w.bin = filepath.Join(w.dir, ".bin")
	must(t, os.Mkdir(w.bin, 0o755))
	must(t, os.Symlink(filepath.Join(c.RepoRoot, "charts"), filepath.Join(w.dir, "charts")))
	must(t, os.Symlink(c.Kubectl(), filepath.Join(w.bin, "kubectl")))
	must(t, os.Symlink(helmBinary(t, c), filepath.Join(w.bin, "helm")))
	must(t, os.Symlink(imageBinary(t, c), filepath.Join(w.bin, "certgate")))
	w.writeCertificates(t)
	must(t, os.WriteFile(filepath.Join(w.dir, crdFile), experimentalInstall(t, c), 0o644))
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// helmBinary is the Helm cluster.Helm runs: $HELM or the pinned bin/helm.
func helmBinary(t *testing.T, c *cluster.Config) string {
	t.Helper()
	helm := os.Getenv("HELM")
	if helm == "" {
		helm = filepath.Join(c.RepoRoot, "bin", "helm")
	}
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("%v: run make bin/helm to build the pinned Helm", err)
	}
	return helm
}

// imageBinary is the certgate binary `make image` built from this
// checkout and put in the image the Pods run.
func imageBinary(t *testing.T, c *cluster.Config) string {
	t.Helper()
	bin := filepath.Join(filepath.Dir(c.DefaultImageLayout()), "certgate-linux-"+runtime.GOARCH)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%v: run make image", err)
	}
	return bin
}

// writeCertificates writes what the README's step 3 names: the Gateway's
// certificate for api.payments.example and its CA, and the client's.
func (w *workdir) writeCertificates(t *testing.T) {
	ca := testpki.NewCA(t, "payments CA")
	server := ca.Issue(t, testpki.Options{CommonName: "api.payments.example", DNSNames: []string{"api.payments.example"}})
	client := ca.Issue(t, testpki.Options{CommonName: "the API gateway"})
	sum := sha256.Sum256(client.Leaf.Raw)
	w.clientPin = hex.EncodeToString(sum[:])
	for name, b := range map[string][]byte{
		"ca.crt": ca.PEM, "tls.crt": server.CertPEM, "tls.key": server.KeyPEM,
		"client.crt": client.CertPEM, "client.key": client.KeyPEM,
	} {
		must(t, os.WriteFile(filepath.Join(w.dir, name), b, 0o600))
	}
}

// experimentalInstall is the Gateway API release's experimental-install.yaml
// as the module's hack/build-install-yaml.sh assembles it:
// config/crd/experimental/gateway*.yaml in order, each after a "---".
func experimentalInstall(t *testing.T, c *cluster.Config) []byte {
	dir, err := envtest.GatewayAPIModuleDir(c.RepoRoot)
	must(t, err)
	files, err := filepath.Glob(filepath.Join(dir, "config", "crd", "experimental", "gateway*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no experimental CRDs in %s (%v)", dir, err)
	}
	sort.Strings(files)
	var b strings.Builder
	b.WriteString("# Gateway API Experimental channel install, assembled from " + dir + "\n")
	for _, f := range files {
		text, err := os.ReadFile(f)
		must(t, err)
		b.WriteString("---\n# " + strings.TrimPrefix(f, dir+"/") + "\n")
		b.Write(text)
	}
	return []byte(b.String())
}

// env is the newcomer's environment: the cluster's admin kubeconfig, the
// tools first on PATH, and a HOME (kubectl's and Helm's caches) inside the
// working directory.
func (w *workdir) env(c *cluster.Config) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "PATH" && k != "HOME" && k != "KUBECONFIG" && !strings.HasPrefix(k, "HELM_") {
			env = append(env, kv)
		}
	}
	return append(env, "PATH="+w.bin+":"+os.Getenv("PATH"), "HOME="+w.dir, "KUBECONFIG="+c.Kubeconfig())
}
