// Package charts_test renders charts/certgate with the pinned Helm of
// tools/helm (bin/helm, built by `make chart-check`) and checks what it
// renders: every document decodes strictly into its Kubernetes type, the
// Deployment's flags are ones `certgate controller` accepts, and the RBAC
// and the CRD are the ones of config/. charts/install submits what it
// renders to a real kube-apiserver.
package charts_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/certgate/certgate/charts/helmtest"
	"github.com/certgate/certgate/controllers/translator"
)

const (
	chartDir  = "certgate"
	release   = "cg"
	namespace = "certgate-system"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if certgateDir != "" {
		_ = os.RemoveAll(certgateDir)
	}
	os.Exit(code)
}

// The certgate binary, built by the first test that needs it.
var (
	certgateOnce             sync.Once
	certgateDir, certgateBin string
	certgateErr              error
)

// rendered is one `helm template` output, decoded.
type rendered struct {
	serviceAccount     *corev1.ServiceAccount
	clusterRole        *rbacv1.ClusterRole
	clusterRoleBinding *rbacv1.ClusterRoleBinding
	// role and roleBinding are the leader election's; roles and
	// roleBindings are every Role and RoleBinding, theirs included.
	role         *rbacv1.Role
	roleBinding  *rbacv1.RoleBinding
	roles        []*rbacv1.Role
	roleBindings []*rbacv1.RoleBinding
	deployment   *appsv1.Deployment
	service      *corev1.Service
	gatewayClass *gatewayv1.GatewayClass
	pdb          *policyv1.PodDisruptionBudget
	crds         []*apiextensionsv1.CustomResourceDefinition
	// ServiceMonitors and PodMonitors: certgate's go.mod has no Prometheus
	// Operator types, so they stay generic.
	monitors []map[string]any
	// dashboard and rules are the Grafana dashboard ConfigMap and the
	// PrometheusRule.
	dashboard *corev1.ConfigMap
	rules     map[string]any
}

func TestDefaults(t *testing.T) {
	r := render(t)
	for what, missing := range map[string]bool{
		"ServiceAccount": r.serviceAccount == nil, "ClusterRole": r.clusterRole == nil,
		"ClusterRoleBinding": r.clusterRoleBinding == nil, "Role": r.role == nil,
		"RoleBinding": r.roleBinding == nil, "Deployment": r.deployment == nil,
		"Service": r.service == nil, "GatewayClass": r.gatewayClass == nil,
		"PodDisruptionBudget": r.pdb == nil,
	} {
		if missing {
			t.Errorf("no %s rendered with the default values", what)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	checkPDB(t, r, "maxUnavailable", 1)
	d := r.deployment
	if got := *d.Spec.Replicas; got != 2 {
		t.Errorf("replicas = %d, want 2", got)
	}
	c := container(t, d)
	checkFlags(t, c.Args)
	wantArgs := []string{
		"--leader-elect=true",
		"--leader-election-namespace=" + namespace,
		"--controller-name=" + string(translator.ControllerName),
		"--metrics-address=:9090",
		"--health-address=:9091",
	}
	for _, a := range wantArgs {
		if !slices.Contains(c.Args, a) {
			t.Errorf("args %q lack %q", c.Args, a)
		}
	}
	checkProbes(t, c)
	checkServiceSelector(t, d)
	checkSecurity(t, d, true)
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want memory requests and limits from values", c.Resources)
	}
	if d.Spec.Template.Spec.ServiceAccountName != r.serviceAccount.Name {
		t.Errorf("Pods run as %q, the chart's ServiceAccount is %q", d.Spec.Template.Spec.ServiceAccountName, r.serviceAccount.Name)
	}

	checkGatewayClass(t, r)
	checkMetricsService(t, r)
	checkRBAC(t, r, nil)
	checkCRDs(t, r)
}

func TestValues(t *testing.T) {
	r := render(t,
		"--set", "replicaCount=3",
		"--set", "gatewayClass.create=false",
		"--set", "listeners.privilegedPorts=false",
		"--set", "metrics.service.enabled=false",
		"--set", "metrics.port=19090",
		"--set", "health.port=19091",
		"--set", "leaderElection.enabled=false",
		"--set", "controllerName=example.com/gw",
		"--set", "logLevel=debug",
		"--set-json", `extraArgs=["--gateway-address-pool=10.20.0.0/24"]`,
	)
	if r.gatewayClass != nil {
		t.Error("GatewayClass rendered with gatewayClass.create=false")
	}
	if r.service != nil {
		t.Error("metrics Service rendered with metrics.service.enabled=false")
	}
	checkPDB(t, r, "maxUnavailable", 1)
	d := r.deployment
	if got := *d.Spec.Replicas; got != 3 {
		t.Errorf("replicas = %d, want 3", got)
	}
	c := container(t, d)
	checkFlags(t, c.Args)
	for _, a := range []string{
		"--leader-elect=false", "--controller-name=example.com/gw", "--metrics-address=:19090",
		"--health-address=:19091", "--log-level=debug", "--gateway-address-pool=10.20.0.0/24",
	} {
		if !slices.Contains(c.Args, a) {
			t.Errorf("args %q lack %q", c.Args, a)
		}
	}
	checkProbes(t, c)
	checkSecurity(t, d, false)

	r = render(t, "--set", "gatewayService.type=LoadBalancer", "--set", "gatewayService.containerPorts=30000-30099", "--set", "nameOverride=gw")
	c = container(t, r.deployment)
	checkFlags(t, c.Args)
	for _, a := range []string{"--gateway-service-type=LoadBalancer", "--gateway-container-ports=30000-30099"} {
		if !slices.Contains(c.Args, a) {
			t.Errorf("args %q lack %q", c.Args, a)
		}
	}
	checkServiceSelector(t, r.deployment)
}

// TestWatchNamespacesNarrowsRBAC: watchNamespaces passes the flag and
// turns the namespaced permissions into a Role per watched namespace.
func TestWatchNamespacesNarrowsRBAC(t *testing.T) {
	r := render(t, "--set-json", `watchNamespaces=["apps","web"]`)
	c := container(t, r.deployment)
	checkFlags(t, c.Args)
	if !slices.Contains(c.Args, "--watch-namespaces=apps,web") {
		t.Errorf("args %q lack --watch-namespaces=apps,web", c.Args)
	}
	checkRBAC(t, r, []string{"apps", "web"})
	if r := render(t); slices.ContainsFunc(container(t, r.deployment).Args, func(a string) bool { return strings.HasPrefix(a, "--watch-namespaces") }) {
		t.Error("--watch-namespaces passed with the default (every namespace)")
	}
}

// checkGatewayClass: the default GatewayClass names certgate's controller
// and has a description the Gateway API CRD accepts.
func checkGatewayClass(t *testing.T, r *rendered) {
	t.Helper()
	if got := r.gatewayClass.Spec.ControllerName; got != translator.ControllerName {
		t.Errorf("GatewayClass controllerName = %q, want %q", got, translator.ControllerName)
	}
	// The Gateway API CRD refuses a description over 64 bytes.
	if d := r.gatewayClass.Spec.Description; d == nil || *d == "" || len(*d) > 64 {
		t.Errorf("GatewayClass description %v: want one of 1 to 64 bytes", d)
	}
	if r.gatewayClass.Name != "certgate" {
		t.Errorf("GatewayClass name = %q, want certgate", r.gatewayClass.Name)
	}
}

// checkFlags runs the real `certgate controller` flag set on args: with
// -help appended, it exits 0 when every arg before is a flag it defines
// with a value it parses, and 2 otherwise.
func checkFlags(t *testing.T, args []string) {
	t.Helper()
	if len(args) == 0 || args[0] != "controller" {
		t.Fatalf("args %q: want the controller subcommand first", args)
	}
	cmd := exec.Command(certgateBinary(t), append(slices.Clone(args), "-help")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := stderr.String()
		if i := strings.Index(msg, "certgate controller:"); i >= 0 {
			msg = msg[i:]
		}
		t.Errorf("certgate %s: %v: %s", strings.Join(args, " "), err, msg)
	}
	for _, a := range args[1:] {
		if name, value, ok := strings.Cut(a, "="); ok && name == "--controller-name" && !strings.Contains(value, "/") {
			t.Errorf("%s: certgate wants a domain-prefixed path", a)
		}
	}
}

// checkServiceSelector: the Gateways' Services select the Deployment's Pods.
func checkServiceSelector(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	want := map[string]string{}
	for pair := range strings.SplitSeq(flagValue(container(t, d).Args, "--gateway-service-selector"), ",") {
		k, v, _ := strings.Cut(pair, "=")
		want[k] = v
	}
	if !reflect.DeepEqual(want, d.Spec.Selector.MatchLabels) {
		t.Errorf("--gateway-service-selector %v, the Deployment selects %v", want, d.Spec.Selector.MatchLabels)
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("Pod labels %v lack %s=%s", d.Spec.Template.Labels, k, v)
		}
	}
}

func checkProbes(t *testing.T, c *corev1.Container) {
	t.Helper()
	healthPort := flagValue(c.Args, "--health-address")
	metricsPort := flagValue(c.Args, "--metrics-address")
	ports := map[string]string{}
	for _, p := range c.Ports {
		ports[p.Name] = ":" + strconv.Itoa(int(p.ContainerPort))
	}
	if ports["health"] != healthPort || ports["metrics"] != metricsPort {
		t.Errorf("container ports %v; flags --health-address=%s --metrics-address=%s", ports, healthPort, metricsPort)
	}
	for _, p := range []struct {
		path  string
		probe *corev1.Probe
	}{{"/healthz", c.StartupProbe}, {"/healthz", c.LivenessProbe}, {"/readyz", c.ReadinessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no HTTP probe of %s", p.path)
			continue
		}
		if g := p.probe.HTTPGet; g.Path != p.path || g.Port.String() != "health" {
			t.Errorf("probe %s:%s, want %s on the health port", g.Port.String(), g.Path, p.path)
		}
	}
}

func checkSecurity(t *testing.T, d *appsv1.Deployment, privilegedPorts bool) {
	t.Helper()
	pod := d.Spec.Template.Spec.SecurityContext
	c := container(t, d)
	sc := c.SecurityContext
	if pod == nil || sc == nil {
		t.Fatal("no Pod or container securityContext")
	}
	if pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot || pod.RunAsUser == nil || *pod.RunAsUser != 65532 {
		t.Errorf("Pod securityContext %+v: want runAsNonRoot, runAsUser 65532", pod)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("root filesystem is writable")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("privilege escalation allowed")
	}
	if sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("capabilities %+v: want drop ALL", sc.Capabilities)
	}
	var want []corev1.Capability
	var wantSysctls []corev1.Sysctl
	if privilegedPorts {
		want = []corev1.Capability{"NET_BIND_SERVICE"}
		wantSysctls = []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}
	}
	if sc.Capabilities != nil && !reflect.DeepEqual(sc.Capabilities.Add, want) {
		t.Errorf("capabilities added %v, want %v", sc.Capabilities.Add, want)
	}
	if !reflect.DeepEqual(pod.Sysctls, wantSysctls) {
		t.Errorf("sysctls %v, want %v", pod.Sysctls, wantSysctls)
	}
}

func checkMetricsService(t *testing.T, r *rendered) {
	t.Helper()
	s := r.service
	if !reflect.DeepEqual(s.Spec.Selector, r.deployment.Spec.Template.Labels) {
		t.Errorf("metrics Service selects %v, the Pods are labelled %v", s.Spec.Selector, r.deployment.Spec.Template.Labels)
	}
	if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].TargetPort.String() != "metrics" {
		t.Errorf("metrics Service ports %+v, want the Pods' metrics port", s.Spec.Ports)
	}
}

// checkRBAC: the chart grants exactly the rules of config/rbac/role.yaml,
// bound to the chart's ServiceAccount, with the Lease Role in the release
// namespace. Without watched namespaces the ClusterRole holds the
// cluster-scoped and the namespaced rules; with them, only the
// cluster-scoped ones, and each watched namespace (and no other) has a
// Role with the namespaced rules, bound to the ServiceAccount.
func checkRBAC(t *testing.T, r *rendered, watched []string) {
	t.Helper()
	want := map[string][]rbacv1.PolicyRule{}
	for _, doc := range helmtest.Documents(t, readFile(t, "../config/rbac/role.yaml")) {
		role := decode[rbacv1.ClusterRole](t, doc) // a Role has the same fields
		want[role.Name] = role.Rules
	}
	cluster, namespaced := want["certgate-controller"], want["certgate-controller-namespaced"]
	if cluster == nil || namespaced == nil || want["certgate-leader-election"] == nil {
		t.Fatalf("config/rbac/role.yaml: want certgate-controller, certgate-controller-namespaced and certgate-leader-election, got %v", slices.Sorted(mapKeys(want)))
	}
	wantCluster := cluster
	if len(watched) == 0 {
		wantCluster = append(slices.Clone(cluster), namespaced...)
	}
	if !reflect.DeepEqual(r.clusterRole.Rules, wantCluster) {
		t.Errorf("chart ClusterRole rules differ from config/rbac/role.yaml (run make generate):\n got %+v\nwant %+v", r.clusterRole.Rules, wantCluster)
	}
	if !reflect.DeepEqual(r.role.Rules, want["certgate-leader-election"]) {
		t.Errorf("chart Role rules differ from config/rbac/role.yaml (run make generate):\n got %+v\nwant %+v", r.role.Rules, want["certgate-leader-election"])
	}
	sa := rbacv1.Subject{Kind: "ServiceAccount", Name: r.serviceAccount.Name, Namespace: namespace}
	if !reflect.DeepEqual(r.clusterRoleBinding.Subjects, []rbacv1.Subject{sa}) || r.clusterRoleBinding.RoleRef.Name != r.clusterRole.Name {
		t.Errorf("ClusterRoleBinding %+v does not bind ClusterRole %s to %+v", r.clusterRoleBinding, r.clusterRole.Name, sa)
	}
	checkRoles(t, r, sa, append([]string{namespace}, watched...), namespaced)
}

// checkRoles: there is one Role and RoleBinding per namespace of
// namespaces, binding to sa; the leader election's in the release
// namespace (namespaces[0]), the namespaced rules in the others.
func checkRoles(t *testing.T, r *rendered, sa rbacv1.Subject, namespaces []string, namespaced []rbacv1.PolicyRule) {
	t.Helper()
	if len(r.roles) != len(namespaces) || len(r.roleBindings) != len(namespaces) {
		t.Fatalf("%d Roles and %d RoleBindings rendered, want one of each in %v", len(r.roles), len(r.roleBindings), namespaces)
	}
	for _, ns := range namespaces[1:] {
		i := slices.IndexFunc(r.roles, func(ro *rbacv1.Role) bool { return ro.Namespace == ns })
		j := slices.IndexFunc(r.roleBindings, func(b *rbacv1.RoleBinding) bool { return b.Namespace == ns })
		if i < 0 || j < 0 {
			t.Errorf("no Role or RoleBinding in the watched namespace %s", ns)
			continue
		}
		if !reflect.DeepEqual(r.roles[i].Rules, namespaced) {
			t.Errorf("Role in %s: rules %+v, want certgate-controller-namespaced's %+v", ns, r.roles[i].Rules, namespaced)
		}
		b := r.roleBindings[j]
		if !reflect.DeepEqual(b.Subjects, []rbacv1.Subject{sa}) || b.RoleRef.Kind != "Role" || b.RoleRef.Name != r.roles[i].Name {
			t.Errorf("RoleBinding %+v in %s does not bind Role %s to %+v", b, ns, r.roles[i].Name, sa)
		}
	}
	if !reflect.DeepEqual(r.roleBinding.Subjects, []rbacv1.Subject{sa}) || r.roleBinding.RoleRef.Name != r.role.Name {
		t.Errorf("RoleBinding %+v does not bind Role %s to %+v", r.roleBinding, r.role.Name, sa)
	}
}

// leaderElectionRBAC picks the leader election's Role and RoleBinding: the
// ones in the release namespace named *-leader-election.
func leaderElectionRBAC(t *testing.T, roles []*rbacv1.Role, bindings []*rbacv1.RoleBinding) (*rbacv1.Role, *rbacv1.RoleBinding) {
	t.Helper()
	var role *rbacv1.Role
	var binding *rbacv1.RoleBinding
	for _, ro := range roles {
		if ro.Namespace == namespace && strings.HasSuffix(ro.Name, "-leader-election") {
			role = once(t, role, ro)
		}
	}
	for _, b := range bindings {
		if b.Namespace == namespace && strings.HasSuffix(b.Name, "-leader-election") {
			binding = once(t, binding, b)
		}
	}
	return role, binding
}

// checkCRDs: charts/certgate/files/crds holds exactly config/crd/bases,
// byte for byte, and the chart renders each with the chart's labels, kept
// on uninstall.
func checkCRDs(t *testing.T, r *rendered) {
	t.Helper()
	want := dirFiles(t, "../config/crd/bases")
	got := dirFiles(t, filepath.Join(chartDir, "files", "crds"))
	if !reflect.DeepEqual(slices.Sorted(mapKeys(got)), slices.Sorted(mapKeys(want))) {
		t.Errorf("chart CRDs %v, config/crd/bases %v (run make generate)", slices.Sorted(mapKeys(got)), slices.Sorted(mapKeys(want)))
	}
	specs := map[string]apiextensionsv1.CustomResourceDefinitionSpec{}
	for name, b := range want {
		if g, ok := got[name]; ok && !bytes.Equal(g, b) {
			t.Errorf("%s/files/crds/%s differs from config/crd/bases/%s (run make generate)", chartDir, name, name)
		}
		crd := decode[apiextensionsv1.CustomResourceDefinition](t, b)
		specs[crd.Name] = crd.Spec
	}
	if len(r.crds) != len(want) {
		t.Errorf("%d CRDs rendered, want the %d of config/crd/bases", len(r.crds), len(want))
	}
	for _, c := range r.crds {
		if !reflect.DeepEqual(c.Spec, specs[c.Name]) {
			t.Errorf("rendered CRD %s differs from config/crd/bases", c.Name)
		}
		if c.Labels["app.kubernetes.io/instance"] != release || c.Annotations["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s labels %v, annotations %v: want the release's labels and helm.sh/resource-policy: keep", c.Name, c.Labels, c.Annotations)
		}
	}
}

// render runs `helm template` on the chart, CRDs included, and decodes
// every document strictly: a field its type does not have fails the test.
func render(t *testing.T, args ...string) *rendered {
	t.Helper()
	out := helmtest.Template(t, helmtest.Binary(t, ".."), chartDir, release, namespace, args...)
	r := &rendered{}
	for _, doc := range helmtest.Documents(t, out) {
		switch k := kind(t, doc); k {
		case "ServiceAccount":
			r.serviceAccount = once(t, r.serviceAccount, decode[corev1.ServiceAccount](t, doc))
		case "ClusterRole":
			r.clusterRole = once(t, r.clusterRole, decode[rbacv1.ClusterRole](t, doc))
		case "ClusterRoleBinding":
			r.clusterRoleBinding = once(t, r.clusterRoleBinding, decode[rbacv1.ClusterRoleBinding](t, doc))
		case "Role":
			r.roles = append(r.roles, decode[rbacv1.Role](t, doc))
		case "RoleBinding":
			r.roleBindings = append(r.roleBindings, decode[rbacv1.RoleBinding](t, doc))
		case "Deployment":
			r.deployment = once(t, r.deployment, decode[appsv1.Deployment](t, doc))
		case "Service":
			r.service = once(t, r.service, decode[corev1.Service](t, doc))
		case "GatewayClass":
			r.gatewayClass = once(t, r.gatewayClass, decode[gatewayv1.GatewayClass](t, doc))
		case "PodDisruptionBudget":
			r.pdb = once(t, r.pdb, decode[policyv1.PodDisruptionBudget](t, doc))
		case "CustomResourceDefinition":
			r.crds = append(r.crds, decode[apiextensionsv1.CustomResourceDefinition](t, doc))
		case "ConfigMap":
			r.dashboard = once(t, r.dashboard, decode[corev1.ConfigMap](t, doc))
		case "PrometheusRule":
			if r.rules != nil {
				t.Error("two PrometheusRules rendered")
			}
			r.rules = *decode[map[string]any](t, doc)
		case "ServiceMonitor", "PodMonitor":
			r.monitors = append(r.monitors, *decode[map[string]any](t, doc))
		default:
			t.Errorf("unexpected kind %q rendered", k)
		}
	}
	r.role, r.roleBinding = leaderElectionRBAC(t, r.roles, r.roleBindings)
	for _, ns := range []struct{ kind, ns string }{
		{"ServiceAccount", objNamespace(r.serviceAccount)}, {"Deployment", objNamespace(r.deployment)},
		{"Service", objNamespace(r.service)}, {"PodDisruptionBudget", objNamespace(r.pdb)},
	} {
		if ns.ns != "" && ns.ns != namespace {
			t.Errorf("%s in namespace %q, want the release namespace %q", ns.kind, ns.ns, namespace)
		}
	}
	return r
}

func objNamespace[T any](o *T) string {
	if o == nil {
		return ""
	}
	v := reflect.ValueOf(o).Elem().FieldByName("ObjectMeta")
	return v.FieldByName("Namespace").String()
}

func once[T any](t *testing.T, prev, next *T) *T {
	t.Helper()
	if prev != nil {
		t.Errorf("two %T rendered", next)
	}
	return next
}

func kind(t *testing.T, doc []byte) string {
	t.Helper()
	var tm struct{ APIVersion, Kind string }
	if err := yaml.Unmarshal(doc, &tm); err != nil || tm.Kind == "" || tm.APIVersion == "" {
		t.Fatalf("document without apiVersion and kind (%v):\n%s", err, doc)
	}
	return tm.Kind
}

func decode[T any](t *testing.T, doc []byte) *T {
	t.Helper()
	v := new(T)
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%T: %v in\n%s", v, err, doc)
	}
	return v
}

func container(t *testing.T, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("Deployment has %d containers, want 1", n)
	}
	return &d.Spec.Template.Spec.Containers[0]
}

func flagValue(args []string, name string) string {
	for _, a := range args {
		if n, v, ok := strings.Cut(a, "="); ok && n == name {
			return v
		}
	}
	return ""
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !e.IsDir() {
			files[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
		}
	}
	return files
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// certgateBinary builds cmd/certgate once per test binary run.
func certgateBinary(t *testing.T) string {
	t.Helper()
	certgateOnce.Do(func() {
		dir, err := os.MkdirTemp("", "certgate-chart-test")
		if err != nil {
			certgateErr = err
			return
		}
		certgateDir = dir
		bin := filepath.Join(dir, "certgate")
		cmd := exec.Command("go", "build", "-o", bin, "../cmd/certgate")
		if out, err := cmd.CombinedOutput(); err != nil {
			certgateErr = errors.New(string(out) + err.Error())
			return
		}
		certgateBin = bin
	})
	if certgateErr != nil {
		t.Fatalf("go build ./cmd/certgate: %v", certgateErr)
	}
	return certgateBin
}
