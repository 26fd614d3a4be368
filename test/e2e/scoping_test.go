package e2e_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/charts/helmtest"
	"github.com/certgate/certgate/controllers/kubernetes/leader"
	"github.com/certgate/certgate/controllers/kubernetes/provider"
)

// testWatchNamespacesUnderTheChartsScopedRBAC runs a provider watching one
// namespace, as the ServiceAccount of the chart rendered with
// watchNamespaces and with exactly the RBAC it renders: the watched
// namespace is served and gets status (Gateway, route, policy and its
// Events); a Gateway and route of the same class in another namespace get
// neither a listener nor status.
func (w *world) testWatchNamespacesUnderTheChartsScopedRBAC(t *testing.T) {
	const (
		watched, unwatched, system = "scoped-in", "scoped-out", "scoped-system"
		class, controller          = "certgate-scoped", "certgate.dev/scoped-test"
		addr, unwatchedAddr        = "127.0.0.1:18455", "127.0.0.1:18456"
	)
	w.namespace(t, watched)
	w.applyChartRBAC(t, "scoped", system, `watchNamespaces=["`+watched+`"]`)
	cfg := rest.CopyConfig(w.env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + system + ":scoped-certgate"}
	w.rbacIsEnforced(t, cfg)

	w.gatewayClass(t, class, controller)
	// Created first: the watched namespace's status, written after, proves
	// a translation has run since these existed.
	w.app(t, unwatched, class, 18456, unwatched)
	p, _ := w.providerWith(t, cfg, provider.Options{ControllerName: controller, WatchNamespaces: []string{watched}})
	el, err := leader.NewElector(cfg, leader.ElectorOptions{
		Namespace: system, Name: "scoped-certgate-leader", Identity: "scoped", OnLeading: p.Lead,
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	go el.Run(t.Context())

	w.app(t, watched, class, 18455, watched)
	// The policy comes once the route is served, so that its first status
	// (and Event) is not TargetNotFound from a cache that has it first.
	wantStatus(t, "a client without a certificate before the policy", w.client(nil, addr), http.StatusOK)
	w.create(t, policy(watched, "pinned", "api", v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{{SHA256: sha256Pin(w.gatewayCert)}}}))
	wantStatus(t, "the pinned client in the watched namespace", w.client(w.gatewayCert, addr), http.StatusOK)
	wantStatus(t, "another client in the watched namespace", w.client(w.strangerCert, addr), http.StatusForbidden)
	eventually(t, "status and an Accepted Event in the watched namespace", func() error {
		if err := w.gatewayReady(t, watched, ""); err != nil {
			return err
		}
		if err := w.routeCondition(t, watched, "api", controller, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs"); err != nil {
			return err
		}
		return w.wantEvents(t, watched, "pinned", controller, "Normal/Accepted")
	})
	if err := w.untouched(t, unwatched, unwatchedAddr); err != nil {
		t.Errorf("the unwatched namespace: %v", err)
	}
}

// untouched checks that nothing serves addr and that the Gateway and route
// of ns have no status from certgate.
func (w *world) untouched(t *testing.T, ns, addr string) error {
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		return fmt.Errorf("a listener serves %s", addr)
	}
	gw := &gatewayv1.Gateway{}
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: "gw"}, gw); err != nil {
		return err
	}
	for _, c := range gw.Status.Conditions {
		if c.Reason != string(gatewayv1.GatewayReasonPending) {
			return fmt.Errorf("Gateway condition %s=%s/%s written", c.Type, c.Status, c.Reason)
		}
	}
	r := &gatewayv1.HTTPRoute{}
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: "api"}, r); err != nil {
		return err
	}
	if len(r.Status.Parents) > 0 {
		return errors.New("HTTPRoute has parent status")
	}
	return nil
}

// applyChartRBAC renders the chart as release in namespace with setJSON
// (a --set-json value) and creates its ServiceAccount, ClusterRole,
// Roles and bindings: exactly the permissions a Helm install grants.
func (w *world) applyChartRBAC(t *testing.T, release, namespace, setJSON string) {
	t.Helper()
	w.namespace(t, namespace)
	helm := helmtest.Binary(t, w.env.RepoRoot)
	chart := w.env.RepoRoot + "/charts/certgate"
	out := helmtest.Template(t, helm, chart, release, namespace, "--set-json", setJSON, "--set", "crds.enabled=false")
	kinds := map[string]bool{"ServiceAccount": true, "ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true}
	for _, doc := range helmtest.Documents(t, out) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatal(err)
		}
		if kinds[u.GetKind()] {
			w.create(t, u)
		}
	}
}
