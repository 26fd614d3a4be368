package charts_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/certgate/certgate/charts/helmtest"
)

// checkPDB: the PodDisruptionBudget sets field (maxUnavailable or
// minAvailable) to n, the other one not at all, and selects the
// Deployment's Pods.
func checkPDB(t *testing.T, r *rendered, field string, n int) {
	t.Helper()
	if r.pdb == nil {
		t.Fatal("no PodDisruptionBudget rendered")
	}
	set, unset := r.pdb.Spec.MaxUnavailable, r.pdb.Spec.MinAvailable
	if field == "minAvailable" {
		set, unset = unset, set
	}
	if set == nil || set.IntValue() != n || unset != nil {
		t.Errorf("PodDisruptionBudget spec %+v, want %s %d alone", r.pdb.Spec, field, n)
	}
	if !reflect.DeepEqual(r.pdb.Spec.Selector.MatchLabels, r.deployment.Spec.Selector.MatchLabels) {
		t.Errorf("PodDisruptionBudget selects %v, the Deployment's Pods are %v", r.pdb.Spec.Selector.MatchLabels, r.deployment.Spec.Selector.MatchLabels)
	}
}

// TestPodDisruptionBudgetNeverAtOneReplica: at one replica any budget
// blocks node drains or means nothing, so none is rendered.
func TestPodDisruptionBudgetNeverAtOneReplica(t *testing.T) {
	if r := render(t, "--set", "replicaCount=1"); r.pdb != nil {
		t.Errorf("PodDisruptionBudget %+v rendered at one replica", r.pdb.Spec)
	}
	if r := render(t, "--set", "podDisruptionBudget.enabled=false"); r.pdb != nil {
		t.Error("PodDisruptionBudget rendered with podDisruptionBudget.enabled=false")
	}
	checkPDB(t, render(t, "--set", "replicaCount=3", "--set", "podDisruptionBudget.minAvailable=2"), "minAvailable", 2)
}

// TestSecurityContextOverrides: the values override the Pod's and the
// container's securityContext field by field, and listeners.privilegedPorts
// still adds its sysctl and capability to what the user set.
func TestSecurityContextOverrides(t *testing.T) {
	r := render(t,
		"--set", "podSecurityContext.runAsUser=70000",
		"--set-json", `podSecurityContext.sysctls=[{"name":"net.ipv4.ping_group_range","value":"0 0"}]`,
		"--set", "securityContext.readOnlyRootFilesystem=false",
	)
	pod := r.deployment.Spec.Template.Spec.SecurityContext
	if pod.RunAsUser == nil || *pod.RunAsUser != 70000 || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot {
		t.Errorf("Pod securityContext %+v: want runAsUser 70000 and the default runAsNonRoot", pod)
	}
	wantSysctls := []corev1.Sysctl{{Name: "net.ipv4.ping_group_range", Value: "0 0"}, {Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}
	if !reflect.DeepEqual(pod.Sysctls, wantSysctls) {
		t.Errorf("sysctls %v, want %v", pod.Sysctls, wantSysctls)
	}
	sc := container(t, r.deployment).SecurityContext
	if sc.ReadOnlyRootFilesystem == nil || *sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem still true after securityContext.readOnlyRootFilesystem=false")
	}
	if !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !reflect.DeepEqual(sc.Capabilities.Add, []corev1.Capability{"NET_BIND_SERVICE"}) {
		t.Errorf("capabilities %+v: want the default drop ALL, add NET_BIND_SERVICE", sc.Capabilities)
	}
}

// TestExtras: extra env, volumes and mounts, the image digest, probe
// timings and common labels reach the objects.
func TestExtras(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	r := render(t,
		"--set-json", `extraEnv=[{"name":"GODEBUG","value":"tlsrsakex=0"}]`,
		"--set-json", `extraVolumes=[{"name":"ca","configMap":{"name":"ca"}}]`,
		"--set-json", `extraVolumeMounts=[{"name":"ca","mountPath":"/etc/ca","readOnly":true}]`,
		"--set", "image.digest="+digest,
		"--set", "livenessProbe.periodSeconds=20",
		"--set", "commonLabels.team=edge",
	)
	pod := r.deployment.Spec.Template.Spec
	c := container(t, r.deployment)
	if c.Image != "ghcr.io/certgate/certgate:0.1.0@"+digest {
		t.Errorf("image %q, want the tag pinned by the digest", c.Image)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "GODEBUG" || len(pod.Volumes) != 1 || pod.Volumes[0].ConfigMap == nil ||
		len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/etc/ca" {
		t.Errorf("env %+v, volumes %+v, mounts %+v: want the extra ones", c.Env, pod.Volumes, c.VolumeMounts)
	}
	if p := c.LivenessProbe; p.PeriodSeconds != 20 || p.FailureThreshold != 3 || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v: want periodSeconds 20 over the default /healthz probe", p)
	}
	checkProbes(t, c)
	for _, m := range []metav1.ObjectMeta{
		r.deployment.ObjectMeta, r.deployment.Spec.Template.ObjectMeta, r.service.ObjectMeta, r.serviceAccount.ObjectMeta,
		r.clusterRole.ObjectMeta, r.gatewayClass.ObjectMeta, r.pdb.ObjectMeta, r.crds[0].ObjectMeta,
	} {
		if m.Labels["team"] != "edge" {
			t.Errorf("%s labels %v lack commonLabels team=edge", m.Name, m.Labels)
		}
	}
	if _, ok := r.deployment.Spec.Selector.MatchLabels["team"]; ok {
		t.Error("commonLabels reached the Deployment's selector, which is immutable")
	}
}

// TestCRDToggles: crds.enabled leaves the CRDs out; crds.keep=false lets
// `helm uninstall` delete them.
func TestCRDToggles(t *testing.T) {
	if r := render(t, "--set", "crds.enabled=false"); len(r.crds) != 0 {
		t.Errorf("%d CRDs rendered with crds.enabled=false", len(r.crds))
	}
	r := render(t, "--set", "crds.keep=false")
	if len(r.crds) == 0 {
		t.Fatal("no CRDs rendered with crds.keep=false")
	}
	for _, c := range r.crds {
		if _, ok := c.Annotations["helm.sh/resource-policy"]; ok {
			t.Errorf("CRD %s keeps helm.sh/resource-policy with crds.keep=false", c.Name)
		}
		if c.Labels["gateway.networking.k8s.io/policy"] != "Direct" {
			t.Errorf("CRD %s labels %v lack the Gateway API policy label of config/crd/bases", c.Name, c.Labels)
		}
	}
}

// TestMonitors: the ServiceMonitor selects the metrics Service and the
// PodMonitor the Pods, both on the port named metrics; a ServiceMonitor
// without the metrics Service is refused at render.
func TestMonitors(t *testing.T) {
	if r := render(t); len(r.monitors) != 0 {
		t.Errorf("%d Prometheus Operator monitors rendered by default; want none", len(r.monitors))
	}
	r := render(t, "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.podMonitor.enabled=true",
		"--set", "metrics.serviceMonitor.labels.release=prometheus")
	if len(r.monitors) != 2 {
		t.Fatalf("%d monitors rendered, want a ServiceMonitor and a PodMonitor", len(r.monitors))
	}
	targets := map[string]map[string]string{"ServiceMonitor": r.service.Labels, "PodMonitor": r.deployment.Spec.Template.Labels}
	endpoints := map[string]string{"ServiceMonitor": "endpoints", "PodMonitor": "podMetricsEndpoints"}
	for _, m := range r.monitors {
		var mon struct {
			Kind     string
			Metadata metav1.ObjectMeta
			Spec     map[string]any
		}
		remarshal(t, m, &mon)
		var sel metav1.LabelSelector
		remarshal(t, mon.Spec["selector"], &sel)
		if len(sel.MatchLabels) == 0 || !isSubset(sel.MatchLabels, targets[mon.Kind]) {
			t.Errorf("%s selects %v; its targets are labelled %v", mon.Kind, sel.MatchLabels, targets[mon.Kind])
		}
		var eps []map[string]any
		remarshal(t, mon.Spec[endpoints[mon.Kind]], &eps)
		if len(eps) != 1 || eps[0]["port"] != "metrics" || eps[0]["path"] != "/metrics" || mon.Metadata.Namespace != namespace {
			t.Errorf("%s in %q scrapes %v, want port metrics, /metrics, in the release namespace", mon.Kind, mon.Metadata.Namespace, eps)
		}
	}
	_, err := helmtest.Run(helmtest.Binary(t, ".."), "template", release, chartDir,
		"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.service.enabled=false")
	if err == nil || !strings.Contains(err.Error(), "metrics.service.enabled") {
		t.Errorf("ServiceMonitor without the metrics Service: %v, want a render error naming metrics.service.enabled", err)
	}
}

// TestDashboardAndRules: the toggles render the dashboard ConfigMap, with
// the Grafana sidecar's label and files/grafana/certgate.json as it is,
// and the PrometheusRule, whose spec is files/prometheus/certgate-rules.yaml.
func TestDashboardAndRules(t *testing.T) {
	if r := render(t); r.dashboard != nil || r.rules != nil {
		t.Error("dashboard or rules rendered by default; want neither")
	}
	r := render(t, "--set", "grafana.dashboard.enabled=true", "--set", "prometheusRule.enabled=true",
		"--set", "prometheusRule.labels.release=prometheus")
	if r.dashboard == nil || r.dashboard.Labels["grafana_dashboard"] != "1" {
		t.Fatalf("dashboard ConfigMap %v, want one labelled grafana_dashboard: \"1\"", r.dashboard)
	}
	var got, want any
	if err := json.Unmarshal([]byte(r.dashboard.Data["certgate.json"]), &got); err != nil {
		t.Fatalf("the ConfigMap's certgate.json: %v", err)
	}
	_ = json.Unmarshal(readFile(t, chartDir+"/files/grafana/certgate.json"), &want)
	if !reflect.DeepEqual(got, want) {
		t.Error("the ConfigMap's dashboard differs from files/grafana/certgate.json")
	}
	var rule struct {
		Metadata metav1.ObjectMeta
		Spec     any
	}
	remarshal(t, r.rules, &rule)
	if err := yaml.Unmarshal(readFile(t, chartDir+"/files/prometheus/certgate-rules.yaml"), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rule.Spec, want) || rule.Metadata.Labels["release"] != "prometheus" {
		t.Errorf("PrometheusRule %+v, want files/prometheus/certgate-rules.yaml labelled release=prometheus", rule)
	}
}

func remarshal(t *testing.T, from, to any) {
	t.Helper()
	b, err := yaml.Marshal(from)
	if err == nil {
		err = yaml.Unmarshal(b, to)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func isSubset(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return true
}

// TestSchemaRefusesTyposAndWrongTypes: values.schema.json makes Helm refuse
// a misspelt key (at the top and nested), a wrong type and an out-of-range
// value at template and lint time, instead of silently ignoring them.
func TestSchemaRefusesTyposAndWrongTypes(t *testing.T) {
	helm := helmtest.Binary(t, "..")
	for _, args := range [][]string{nil, {"--set", "replicaCount=3", "--set", "crds.enabled=false"}} {
		if out, err := helmtest.Run(helm, append([]string{"lint", "--strict", chartDir}, args...)...); err != nil {
			t.Errorf("helm lint --strict %v: %v\n%s", args, err, out)
		}
	}
	for _, bad := range [][]string{
		{"--set", "replicaCont=3"},
		{"--set", "image.tga=v1"},
		{"--set", "metrics.serviceMonitor.enable=true"},
		{"--set", "grafana.dashboard.enable=true"},
		{"--set", "prometheusRule.enabled=yes"},
		{"--set", "replicaCount=two"},
		{"--set-json", `metrics.port="9090"`},
		{"--set", "logLevel=verbose"},
		{"--set", "gatewayClass.description=" + strings.Repeat("x", 65)},
		{"--set", "watchNamespaces=apps"},
		{"--set-json", `watchNamespaces=["Apps_1"]`},
	} {
		if _, err := helmtest.Run(helm, append([]string{"template", release, chartDir}, bad...)...); err == nil || !strings.Contains(err.Error(), "schema") {
			t.Errorf("helm template %v: %v, want a values schema error", bad, err)
		}
		if _, err := helmtest.Run(helm, append([]string{"lint", "--strict", chartDir}, bad...)...); err == nil {
			t.Errorf("helm lint %v passed, want a values schema error", bad)
		}
	}
}

// TestReadme: `helm show readme` prints the chart's README, which documents
// every top-level key of values.yaml.
func TestReadme(t *testing.T) {
	out, err := helmtest.Run(helmtest.Binary(t, ".."), "show", "readme", chartDir)
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(readFile(t, chartDir+"/values.yaml"), &values); err != nil {
		t.Fatal(err)
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if !strings.Contains(string(out), "`"+k) {
			t.Errorf("helm show readme does not document the value %s", k)
		}
	}
	if !strings.Contains(string(out), "helm install") {
		t.Error("helm show readme has no helm install")
	}
}
