package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/certgate/certgate/internal/testwait"
	"github.com/certgate/certgate/test/cluster"
)

// certgateImage is the chart's default image (values.yaml image.repository,
// Chart.yaml appVersion), which `make image` builds.
const certgateImage = "ghcr.io/certgate/certgate:0.1.0"

// TestCertgateImageControllers runs `certgate controller` from certgate's
// OCI image as two Pods under a ServiceAccount bound to the controller's
// RBAC, the way the chart's Deployment does: each reaches the API server
// with client-go's in-cluster configuration, one wins the leader Lease, and
// both become Ready through their /readyz probe. Each Pod's process runs
// in the image's filesystem as the image's user and reads its own
// service-account token, bound to its Pod.
func TestCertgateImageControllers(t *testing.T) {
	c := cluster.Current(t)
	cs := clientset(t, c)
	ctx := context.Background()
	ns := "certgate-system"
	namespace(t, cs, ns)
	controllerRBAC(t, cs, ns, "certgate")

	t0 := time.Now()
	names := []string{"certgate-a", "certgate-b"}
	for _, name := range names {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, controllerPod(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pods := map[string]*corev1.Pod{}
	for _, name := range names {
		pods[name] = waitReady(t, cs, ns, name, 3*time.Minute)
	}
	t.Logf("two certgate Pods Ready after %v", time.Since(t0).Round(10*time.Millisecond))

	t.Run("LeaderLease", func(t *testing.T) {
		testwait.Until(t, time.Minute, "the leader Lease held by one of the Pods", func() error {
			l, err := cs.CoordinationV1().Leases(ns).Get(ctx, "certgate-leader", metav1.GetOptions{})
			// The identity is the hostname, which is the Pod's name, and a suffix.
			if err == nil && (l.Spec.HolderIdentity == nil || pods[strings.Split(*l.Spec.HolderIdentity, "_")[0]] == nil) {
				err = fmt.Errorf("holder %v", l.Spec.HolderIdentity)
			}
			return err
		})
	})
	t.Run("ImageFilesystemAndUser", func(t *testing.T) {
		for _, p := range pods {
			checkImageProcess(t, c, p)
		}
	})
	t.Run("OwnServiceAccountToken", func(t *testing.T) {
		tokens := map[string]string{}
		for name, p := range pods {
			tokens[name] = checkServiceAccountFiles(t, cs, p)
		}
		if tokens[names[0]] == tokens[names[1]] {
			t.Error("the two Pods read the same token")
		}
	})
	t.Run("Environment", func(t *testing.T) {
		for _, p := range pods {
			checkEnvironment(t, c, p)
		}
	})
}

// controllerRBAC binds the ServiceAccount sa to config/rbac/role.yaml, the
// controller's permissions that the chart copies.
func controllerRBAC(t *testing.T, cs kubernetes.Interface, ns, sa string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cluster.Current(t).RepoRoot, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		switch meta.Kind {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			mustUnmarshal(t, doc, &r)
			_, err := cs.RbacV1().ClusterRoles().Create(ctx, &r, metav1.CreateOptions{})
			must(t, err)
			_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: r.Name}, Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r.Name},
			}, metav1.CreateOptions{})
			must(t, err)
		case "Role":
			var r rbacv1.Role
			mustUnmarshal(t, doc, &r)
			_, err := cs.RbacV1().Roles(ns).Create(ctx, &r, metav1.CreateOptions{})
			must(t, err)
			_, err = cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: r.Name}, Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: r.Name},
			}, metav1.CreateOptions{})
			must(t, err)
		}
	}
}

func mustUnmarshal(t *testing.T, doc string, v any) {
	t.Helper()
	if err := yaml.Unmarshal([]byte(doc), v); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// controllerPod is the chart's controller container, with its defaults:
// the image's entrypoint with args, the non-root securityContext with a
// read-only root, probes of the health port, plus Downward API env and an
// exec liveness probe run inside the container.
func controllerPod(name string) *corev1.Pod {
	no, yes, uid := false, true, int64(65532)
	grace := int64(5)
	field := func(env, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: env, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	health := func(path string) corev1.ProbeHandler {
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("health")}}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "certgate"}},
		Spec: corev1.PodSpec{
			ServiceAccountName:            "certgate",
			TerminationGracePeriodSeconds: &grace,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid,
				Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}},
			Containers: []corev1.Container{{
				Name:  "certgate",
				Image: certgateImage,
				Args: []string{"controller", "--leader-elect=true", "--leader-election-namespace=$(POD_NAMESPACE)",
					"--lease-name=certgate-leader", "--metrics-address=:9090", "--health-address=:9091"},
				Env: []corev1.EnvVar{field("POD_NAME", "metadata.name"), field("POD_NAMESPACE", "metadata.namespace"),
					field("POD_IP", "status.podIP"), field("SERVICE_ACCOUNT", "spec.serviceAccountName")},
				Ports:        []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9090}, {Name: "health", ContainerPort: 9091}},
				StartupProbe: &corev1.Probe{ProbeHandler: health("/healthz"), PeriodSeconds: 1, FailureThreshold: 60},
				LivenessProbe: &corev1.Probe{PeriodSeconds: 2, FailureThreshold: 3, TimeoutSeconds: 5,
					ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/certgate", "version"}}}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: health("/readyz"), PeriodSeconds: 1, FailureThreshold: 2},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
					RunAsNonRoot: &yes, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
}

func waitReady(t *testing.T, cs kubernetes.Interface, ns, name string, d time.Duration) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	testwait.Until(t, d, "Pod "+name+" Ready", func() error {
		p, err := cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod = p
		if len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready {
			return nil
		}
		return fmt.Errorf("phase %s, containers %+v", p.Status.Phase, p.Status.ContainerStatuses)
	})
	return pod
}

// containerPid is the container's process, from its containerID.
func containerPid(t *testing.T, p *corev1.Pod) int {
	t.Helper()
	id := p.Status.ContainerStatuses[0].ContainerID
	pid, err := strconv.Atoi(strings.TrimPrefix(id, "local://"))
	if err != nil {
		t.Fatalf("pod %s: containerID %q", p.Name, id)
	}
	return pid
}

// checkImageProcess: the process is the image's entrypoint, runs as
// 65532:65532, sees the image's filesystem (read-only) as its root and
// the Pod's name as its hostname.
func checkImageProcess(t *testing.T, c *cluster.Config, p *corev1.Pod) {
	st := p.Status.ContainerStatuses[0]
	if !strings.HasPrefix(st.ImageID, "ghcr.io/certgate/certgate@sha256:") || st.Started == nil || !*st.Started {
		t.Errorf("pod %s: imageID %q started %v, want the image's digest and started", p.Name, st.ImageID, st.Started)
	}
	pid := containerPid(t, p)
	proc := func(f string) string {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err != nil {
			t.Fatalf("pod %s: %v", p.Name, err)
		}
		return string(b)
	}
	if argv := strings.Split(strings.TrimRight(proc("cmdline"), "\x00"), "\x00"); argv[0] != "/certgate" || argv[1] != "controller" ||
		argv[3] != "--leader-election-namespace="+p.Namespace {
		t.Errorf("pod %s runs %q, want /certgate controller … with $(POD_NAMESPACE) expanded", p.Name, argv)
	}
	if !regexp.MustCompile(`(?m)^Uid:\s+65532\s+65532\s+65532\s+65532$`).MatchString(proc("status")) ||
		!regexp.MustCompile(`(?m)^Gid:\s+65532\s`).MatchString(proc("status")) {
		t.Errorf("pod %s: the process does not run as 65532:65532:\n%s", p.Name, proc("status"))
	}
	root := fmt.Sprintf("/proc/%d/root", pid)
	if _, err := os.Stat(root + "/certgate"); err != nil {
		t.Errorf("pod %s: the image's /certgate is not in the process's root: %v", p.Name, err)
	}
	if _, err := os.Stat(root + c.StateDir); err == nil {
		t.Errorf("pod %s: the host's %s is visible in the container", p.Name, c.StateDir)
	}
	if err := os.WriteFile(root+"/written", nil, 0o644); err == nil {
		t.Errorf("pod %s: the root filesystem is writable despite readOnlyRootFilesystem", p.Name)
	}
	if h, _ := os.ReadFile(root + "/etc/hostname"); strings.TrimSpace(string(h)) != p.Name {
		t.Errorf("pod %s: /etc/hostname %q", p.Name, h)
	}
}

// checkServiceAccountFiles: the token, CA and namespace the process sees at
// client-go's fixed paths are its own; the token is bound to its Pod.
// It returns the token.
func checkServiceAccountFiles(t *testing.T, cs kubernetes.Interface, p *corev1.Pod) string {
	dir := fmt.Sprintf("/proc/%d/root/var/run/secrets/kubernetes.io/serviceaccount/", containerPid(t, p))
	read := func(f string) string {
		b, err := os.ReadFile(dir + f)
		if err != nil {
			t.Fatalf("pod %s: %v", p.Name, err)
		}
		return string(b)
	}
	if ns := read("namespace"); ns != p.Namespace {
		t.Errorf("pod %s: namespace file %q", p.Name, ns)
	}
	caPEM, err := os.ReadFile(filepath.Join(cluster.Current(t).PKIDir(), "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if ca := read("ca.crt"); !bytes.Equal(bytes.TrimSpace([]byte(ca)), bytes.TrimSpace(caPEM)) {
		t.Errorf("pod %s: ca.crt is not the cluster CA", p.Name)
	}
	token := read("token")
	tr, err := cs.AuthenticationV1().TokenReviews().Create(context.Background(),
		&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u := tr.Status.User
	if !tr.Status.Authenticated || u.Username != "system:serviceaccount:"+p.Namespace+":certgate" ||
		strings.Join(u.Extra["authentication.kubernetes.io/pod-name"], "") != p.Name ||
		strings.Join(u.Extra["authentication.kubernetes.io/pod-uid"], "") != string(p.UID) {
		t.Errorf("pod %s: its token reviews as %+v (error %q), want the ServiceAccount certgate bound to this Pod", p.Name, u, tr.Status.Error)
	}
	return token
}

// kubernetesServiceIP is the ClusterIP of default/kubernetes.
func kubernetesServiceIP(t *testing.T, c *cluster.Config) string {
	t.Helper()
	svc, err := clientset(t, c).CoreV1().Services("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Spec.ClusterIP
}

// checkEnvironment: the Downward API values, the API server's address
// and the image's PATH are in the process's environment.
func checkEnvironment(t *testing.T, c *cluster.Config, p *corev1.Pod) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", containerPid(t, p)))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	want := map[string]string{
		"POD_NAME": p.Name, "POD_NAMESPACE": p.Namespace, "POD_IP": p.Status.PodIP, "SERVICE_ACCOUNT": "certgate",
		"HOSTNAME": p.Name, "HOME": "/home/nonroot", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		// As kubelet sets them: the kubernetes Service, which kube-proxy
		// routes to the API server.
		"KUBERNETES_SERVICE_HOST": kubernetesServiceIP(t, c), "KUBERNETES_SERVICE_PORT": "443",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("pod %s: %s=%q, want %q", p.Name, k, env[k], v)
		}
	}
}
