// Package install_test submits everything charts/certgate renders to a real
// kube-apiserver (test/envtest) with the experimental-channel Gateway API
// CRDs installed, as `helm install` would: an object the API server refuses
// (a field over its CRD's maxLength, a field its type lacks) fails the test.
// charts_test checks what the objects mean; this package checks that a
// cluster takes them.
package install_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/certgate/certgate/charts/helmtest"
	"github.com/certgate/certgate/test/envtest"
)

func TestMain(m *testing.M) { os.Exit(envtest.RunInNetNS(m)) }

const chart = "../certgate"

// valueCases are value combinations beyond the defaults, each submitted
// with a server-side dry run in a namespace of its own: together they
// switch every template and every optional block on or off once.
var valueCases = map[string][]string{
	"nothing optional": {
		"--set", "gatewayClass.create=false", "--set", "metrics.service.enabled=false",
		"--set", "listeners.privilegedPorts=false", "--set", "leaderElection.enabled=false",
		"--set", "serviceAccount.create=false", "--set", "serviceAccount.name=existing", "--set", "rbac.create=false",
		"--set", "crds.enabled=false", "--set", "podDisruptionBudget.enabled=false", "--set", "gatewayClass.description=",
	},
	"three replicas, a Service per Gateway, every extra": {
		"--set", "replicaCount=3", "--set", "podDisruptionBudget.minAvailable=2", "--set", "crds.keep=false",
		"--set", "gatewayService.type=LoadBalancer", "--set", "gatewayClass.name=certgate-lb",
		"--set", "controllerName=example.com/gateway", "--set", "fullnameOverride=edge",
		"--set", "image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"--set", "commonLabels.team=edge", "--set", "podSecurityContext.runAsUser=70000",
		"--set", "securityContext.readOnlyRootFilesystem=false", "--set", "livenessProbe.timeoutSeconds=2",
		"--set", "grafana.dashboard.enabled=true", "--set", "grafana.dashboard.labels.team=edge",
		"--set-json", `extraArgs=["--gateway-address-pool=10.20.0.0/24"]`,
		"--set-json", `extraEnv=[{"name":"GODEBUG","value":"tlsrsakex=0"}]`,
		"--set-json", `extraVolumes=[{"name":"ca","configMap":{"name":"ca"}}]`,
		"--set-json", `extraVolumeMounts=[{"name":"ca","mountPath":"/etc/ca","readOnly":true}]`,
		"--set-json", `podAnnotations={"example.com/team":"edge"}`,
		"--set-json", `tolerations=[{"key":"edge","operator":"Exists","effect":"NoSchedule"}]`,
	},
}

// TestChartInstallsOnAnAPIServer installs the chart with its default
// values for real, then dry-runs every value case; last it proves that a
// refusal would be seen.
func TestChartInstallsOnAnAPIServer(t *testing.T) {
	env := envtest.StartWithOptions(t, envtest.Options{GatewayAPIChannel: "experimental", GatewayAPICRDs: []string{"all"}})
	helm := helmtest.Binary(t, env.RepoRoot)
	t.Run("defaults", func(t *testing.T) {
		install(t, env.Client, "certgate-system", objects(t, helm, "certgate", "certgate-system"), false)
	})
	i := 0
	for name, args := range valueCases {
		i++
		ns := fmt.Sprintf("case-%d", i)
		t.Run(name, func(t *testing.T) {
			install(t, env.Client, ns, objects(t, helm, "cg", ns, args...), true)
		})
	}
	t.Run("watching two namespaces", func(t *testing.T) {
		for _, ns := range []string{"team-a", "team-b"} {
			createNamespace(t, env.Client, ns)
		}
		objs := objects(t, helm, "scoped", "scoped-system", "--set-json", `watchNamespaces=["team-a","team-b"]`)
		install(t, env.Client, "scoped-system", objs, false)
		checkScopedRoles(t, objs, "team-a", "team-b")
	})
	t.Run("refused objects are seen", func(t *testing.T) { checkRefusals(t, env.Client, helm) })
}

// checkScopedRoles: a Role and a RoleBinding were submitted in each of
// namespaces.
func checkScopedRoles(t *testing.T, objs []*unstructured.Unstructured, namespaces ...string) {
	t.Helper()
	for _, ns := range namespaces {
		for _, kind := range []string{"Role", "RoleBinding"} {
			if !slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind && o.GetNamespace() == ns }) {
				t.Errorf("no %s in the watched namespace %s", kind, ns)
			}
		}
	}
}

func createNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// checkRefusals: the default GatewayClass with a description one byte
// over the CRD's 64, and a Deployment with a field its type lacks, are both
// refused by submit.
func checkRefusals(t *testing.T, c client.Client, helm string) {
	objs := objects(t, helm, "refused", "default")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for kind, spoil := range map[string]func(*unstructured.Unstructured) error{
		"GatewayClass": func(o *unstructured.Unstructured) error {
			return unstructured.SetNestedField(o.Object, strings.Repeat("x", 65), "spec", "description")
		},
		"Deployment": func(o *unstructured.Unstructured) error {
			return unstructured.SetNestedField(o.Object, int64(1), "spec", "replicaCont")
		},
	} {
		o := find(t, objs, kind)
		if err := spoil(o); err != nil {
			t.Fatal(err)
		}
		if err := submit(ctx, c, o, true); err == nil {
			t.Errorf("%s %s accepted; want the API server to refuse it", kind, o.GetName())
		}
	}
}

// install creates the release namespace, then submits the CRDs and the
// other objects in that order, as Helm does.
func install(t *testing.T, c client.Client, namespace string, objs []*unstructured.Unstructured, dryRun bool) {
	t.Helper()
	createNamespace(t, c, namespace)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, o := range objs {
		if err := submit(ctx, c, o, dryRun); err != nil {
			t.Errorf("%s %s refused: %v", o.GetKind(), o.GetName(), err)
		}
	}
}

// submit creates o, with strict field validation (an unknown field is an
// error, not dropped). An object that already exists, such as a CRD envtest
// installed, is updated with a dry run instead: that validates it the same.
func submit(ctx context.Context, c client.Client, o *unstructured.Unstructured, dryRun bool) error {
	o = o.DeepCopy()
	existing := &unstructured.Unstructured{}
	existing.SetGroupVersionKind(o.GroupVersionKind())
	err := c.Get(ctx, client.ObjectKeyFromObject(o), existing)
	switch {
	case err == nil:
		o.SetResourceVersion(existing.GetResourceVersion())
		return c.Update(ctx, o, client.DryRunAll, client.FieldValidation("Strict"))
	case !apierrors.IsNotFound(err):
		return err
	case dryRun:
		return c.Create(ctx, o, client.DryRunAll, client.FieldValidation("Strict"))
	default:
		return c.Create(ctx, o, client.FieldValidation("Strict"))
	}
}

// objects renders the chart and decodes every document, CRDs first.
func objects(t *testing.T, helm, release, namespace string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, doc := range helmtest.Documents(t, helmtest.Template(t, helm, chart, release, namespace, args...)) {
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatal(err)
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(j); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		objs = append(objs, o)
	}
	if len(objs) == 0 {
		t.Fatal("helm template rendered nothing")
	}
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return rank(a) - rank(b)
	})
	for _, o := range objs {
		if o.GetNamespace() == "" && !clusterScoped[o.GetKind()] {
			t.Errorf("%s %s has no namespace; the chart sets the release namespace on every namespaced object", o.GetKind(), o.GetName())
		}
	}
	return objs
}

var clusterScoped = map[string]bool{
	"CustomResourceDefinition": true, "ClusterRole": true, "ClusterRoleBinding": true, "GatewayClass": true,
}

func rank(o *unstructured.Unstructured) int {
	if o.GetKind() == "CustomResourceDefinition" {
		return 0
	}
	return 1
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	t.Fatalf("no %s rendered", kind)
	return nil
}
