package e2e_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/controllers/kubernetes/leader"
)

// testRBACIsEnough runs a provider and an elector as the ServiceAccount of
// config/rbac, with exactly the permissions that directory grants: it must
// sync its caches, serve, read a referenced ConfigMap, take the Lease and
// write status.
func (w *world) testRBACIsEnough(t *testing.T) {
	const (
		ns, class, controller = "rbac", "certgate-rbac", "certgate.dev/rbac-test"
		addr                  = "127.0.0.1:18448"
	)
	w.namespace(t, "certgate-system")
	w.applyDir(t, filepath.Join(w.env.RepoRoot, "config", "rbac"))
	cfg := rest.CopyConfig(w.env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:certgate-system:certgate"}

	w.rbacIsEnforced(t, cfg)

	w.gatewayClass(t, class, controller)
	p, _ := w.providerFor(t, cfg, controller, nil)
	el, err := leader.NewElector(cfg, leader.ElectorOptions{
		Namespace: "certgate-system", Name: "certgate-leader", Identity: "rbac", OnLeading: p.Lead,
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	go el.Run(t.Context())

	w.app(t, ns, class, 18448, ns)
	w.create(t, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pins"},
		Data:       map[string]string{"pins": pinLine(w.gatewayCert)},
	}, policy(ns, "pinned", "api", v1alpha1.ClientCertPolicySpec{
		PinsFrom: []v1alpha1.PinSource{{Kind: v1alpha1.KindConfigMap, Name: "pins", Key: "pins"}},
	}))
	wantStatus(t, "the pinned client, served under the ServiceAccount's permissions", w.client(w.gatewayCert, addr), http.StatusOK)
	eventually(t, "status written under the ServiceAccount's permissions", func() error {
		if err := w.gatewayReady(t, ns, ""); err != nil {
			return err
		}
		_, err := w.policyCondition(t, ns, "pinned", "ResolvedRefs", metav1.ConditionTrue, "")
		return err
	})
}

// rbacIsEnforced proves the API server authorizes the impersonated user,
// so that the rest of the test means something: writing a Secret, which
// config/rbac does not allow, is forbidden.
func (w *world) rbacIsEnforced(t *testing.T, cfg *rest.Config) {
	t.Helper()
	c, err := client.New(cfg, client.Options{Scheme: w.env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Create(ctx(t), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "certgate-system", Name: "forbidden"}})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("creating a Secret as the controller's ServiceAccount: %v; want Forbidden", err)
	}
}

// applyDir creates every object of every YAML file in dir except the
// kustomization.
func (w *world) applyDir(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(b), "\n---\n") {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			w.create(t, u)
		}
	}
}
