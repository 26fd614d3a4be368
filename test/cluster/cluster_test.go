package cluster_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/certgate/certgate/internal/testwait"
	"github.com/certgate/certgate/test/cluster"
	"github.com/certgate/certgate/test/envtest"
)

// The cluster installs the Gateway API CRDs for `certgate controller`, and
// runs certgate's image from `make image`.
func TestMain(m *testing.M) {
	cluster.Main() // first: a container's init runs outside the checkout
	root, err := envtest.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	c := cluster.Config{GatewayAPICRDs: "standard"}
	c.OCILayouts = []string{filepath.Join(root, ".cache", "image", "certgate")}
	os.Exit(cluster.RunTests(m, c))
}

const echoImage = "registry.k8s.io/gateway-api/echo-basic:v1.5.1"

func clientset(t *testing.T, c *cluster.Config) *kubernetes.Clientset {
	t.Helper()
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func namespace(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Pods need the namespace's default ServiceAccount.
	testwait.Until(t, time.Minute, "the default ServiceAccount of "+name, func() error {
		_, err := cs.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// TestNetworkRule: from inside the cluster namespace there is no route to
// any address outside it, and nothing it forwards for its Pods can leave.
func TestNetworkRule(t *testing.T) {
	c := cluster.Current(t)
	out, err := exec.Command("ip", "route", "show", "table", "all").CombinedOutput()
	if err != nil {
		t.Fatalf("ip route: %v: %s", err, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, "default") {
			t.Errorf("the cluster namespace has a default route: %s", l)
		}
	}
	t.Logf("routes in the cluster namespace:\n%s", out)

	for _, addr := range []string{"192.0.2.1:80", "8.8.8.8:53", "10.0.0.1:443", "[2001:db8::1]:80"} {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			_ = conn.Close()
			t.Errorf("dial %s from the cluster namespace succeeded", addr)
			continue
		}
		if !errors.Is(err, syscall.ENETUNREACH) {
			t.Errorf("dial %s: %v, want network unreachable", addr, err)
		}
	}
	for _, dst := range []string{"192.0.2.1", "8.8.8.8", "10.0.0.1"} {
		if out, err := exec.Command("ip", "route", "get", dst).CombinedOutput(); err == nil {
			t.Errorf("ip route get %s found a route: %s", dst, out)
		}
	}
	// The namespace forwards (a Pod's Service packets are routed through
	// it), so every route must lead to the bridge or lo: nothing it
	// forwards can leave.
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		dev := ""
		for i := range len(f) - 1 {
			if f[i] == "dev" {
				dev = f[i+1]
			}
		}
		if dev != c.Bridge && dev != "lo" {
			t.Errorf("a route leads elsewhere than %s or lo: %s", c.Bridge, l)
		}
	}
	if self, _ := os.Readlink("/proc/self/ns/net"); self == "" {
		t.Error("cannot read this process's network namespace")
	} else if host, _ := os.Readlink("/proc/1/ns/net"); host == self {
		t.Errorf("the test runs in the host's network namespace %s, not in %s", self, c.Name)
	}
}

// TestEchoBasic runs the conformance echo server as a Deployment behind a
// Service and checks the whole path: scheduling, Pod network namespaces,
// fieldRef env, a Secret volume at its mount path, readiness,
// EndpointSlices, restarts and deletion.
func TestEchoBasic(t *testing.T) {
	c := cluster.Current(t)
	cs := clientset(t, c)
	ctx := context.Background()
	ns := "echo"
	namespace(t, cs, ns)

	certPEM, keyPEM := selfSigned(t, "echo.example.com")
	_, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "echo-tls"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "echo"}
	replicas := int32(2)
	fieldEnv := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name:  "echo",
						Image: echoImage,
						Env: []corev1.EnvVar{
							fieldEnv("POD_NAME", "metadata.name"),
							fieldEnv("NAMESPACE", "metadata.namespace"),
							fieldEnv("POD_IP", "status.podIP"),
							{Name: "SERVICE_NAME", Value: "svc-$(NAMESPACE)"},
							{Name: "TLS_SERVER_CERT", Value: "/etc/secret-volume/crt"},
							{Name: "TLS_SERVER_PRIVKEY", Value: "/etc/secret-volume/key"},
						},
						VolumeMounts: []corev1.VolumeMount{{Name: "secret-volume", MountPath: "/etc/secret-volume"}},
					}},
					Volumes: []corev1.Volume{{Name: "secret-volume", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
						SecretName: "echo-tls",
						Items:      []corev1.KeyToPath{{Key: "tls.crt", Path: "crt"}, {Key: "tls.key", Path: "key"}},
					}}}},
				},
			},
		},
	}
	t0 := time.Now()
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{
			{Name: "http", Port: 8080, TargetPort: intstr.FromInt32(3000)},
			{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443)},
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// kube-controller-manager publishes the ready Pods' bridge addresses.
	_, subnet, _ := net.ParseCIDR(c.Subnet)
	var endpoints []string
	testwait.Until(t, 2*time.Minute, "an EndpointSlice with 2 ready Pod addresses", func() error {
		slices, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=echo"})
		if err != nil {
			return err
		}
		endpoints = nil
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					endpoints = append(endpoints, e.Addresses...)
				}
			}
		}
		if len(endpoints) != 2 {
			return fmt.Errorf("ready endpoints %v", endpoints)
		}
		return nil
	})
	t.Logf("EndpointSlice ready with %v after %v", endpoints, time.Since(t0).Round(10*time.Millisecond))
	for _, a := range endpoints {
		ip := net.ParseIP(a)
		if ip == nil || ip.IsLoopback() || !subnet.Contains(ip) {
			t.Errorf("endpoint address %s is not a Pod address in %s", a, c.Subnet)
		}
	}

	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=echo"})
	if err != nil {
		t.Fatal(err)
	}
	byIP := map[string]corev1.Pod{}
	for _, p := range pods.Items {
		byIP[p.Status.PodIP] = p
		if p.Spec.NodeName != c.NodeName || p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) != 1 ||
			!p.Status.ContainerStatuses[0].Ready || p.Status.ContainerStatuses[0].State.Running == nil || p.Status.HostIP != c.NodeIP {
			t.Errorf("pod %s: node %q phase %s hostIP %s containers %+v", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.HostIP, p.Status.ContainerStatuses)
		}
	}

	t.Run("HTTP", func(t *testing.T) {
		for _, ip := range endpoints {
			var got struct {
				Path      string `json:"path"`
				Namespace string `json:"namespace"`
				Pod       string `json:"pod"`
				Service   string `json:"service"`
			}
			getJSON(t, http.DefaultClient, "http://"+net.JoinHostPort(ip, "3000")+"/hello", &got)
			want := byIP[ip]
			if got.Path != "/hello" || got.Namespace != ns || got.Pod != want.Name || got.Service != "svc-"+ns {
				t.Errorf("echo from %s = %+v, want path /hello, namespace %s, pod %s, service svc-%s", ip, got, ns, want.Name, ns)
			}
		}
	})

	t.Run("HTTPSFromSecretVolume", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(certPEM)
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "echo.example.com", MinVersion: tls.VersionTLS12}}}
		var got struct {
			TLS *struct {
				ServerName string `json:"serverName"`
			} `json:"tls"`
		}
		getJSON(t, hc, "https://"+net.JoinHostPort(endpoints[0], "8443")+"/tls", &got)
		if got.TLS == nil || got.TLS.ServerName != "echo.example.com" {
			t.Errorf("echo over TLS = %+v, want tls.serverName echo.example.com", got)
		}
	})

	t.Run("Restart", func(t *testing.T) {
		p := byIP[endpoints[0]]
		id := p.Status.ContainerStatuses[0].ContainerID
		pid, err := strconv.Atoi(strings.TrimPrefix(id, "local://"))
		if err != nil {
			t.Fatalf("containerID %q", id)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		testwait.Until(t, time.Minute, "the container restarted and Ready", func() error {
			cur, err := cs.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			st := cur.Status.ContainerStatuses[0]
			if st.RestartCount != 1 || !st.Ready || st.ContainerID == id || st.LastTerminationState.Terminated == nil {
				return fmt.Errorf("status %+v", st)
			}
			if code := st.LastTerminationState.Terminated.ExitCode; code != 128+int32(syscall.SIGKILL) {
				return fmt.Errorf("last exit code %d, want %d", code, 128+int32(syscall.SIGKILL))
			}
			return nil
		})
		var got struct{ Pod string }
		getJSON(t, http.DefaultClient, "http://"+net.JoinHostPort(endpoints[0], "3000")+"/", &got)
		if got.Pod != p.Name {
			t.Errorf("after the restart, pod %q answered, want %q", got.Pod, p.Name)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		fg := metav1.DeletePropagationForeground
		if err := cs.AppsV1().Deployments(ns).Delete(ctx, "echo", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
			t.Fatal(err)
		}
		testwait.Until(t, 2*time.Minute, "the Pods gone", func() error {
			l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(l.Items) > 0 {
				return fmt.Errorf("%d pods left", len(l.Items))
			}
			return nil
		})
		testwait.Until(t, 10*time.Second, "the Pods' network namespaces and processes gone", func() error {
			ents, _ := os.ReadDir("/run/netns")
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), c.PodNetNSPrefix()) {
					return fmt.Errorf("network namespace %s", e.Name())
				}
			}
			for _, p := range byIP {
				if pid, err := strconv.Atoi(strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "local://")); err == nil {
					if err := syscall.Kill(pid, 0); err == nil {
						return fmt.Errorf("process %d of pod %s still runs", pid, p.Name)
					}
				}
			}
			return nil
		})
	})
}

// TestUnknownImage: a Pod whose image the node agent cannot run says so.
func TestUnknownImage(t *testing.T) {
	c := cluster.Current(t)
	cs := clientset(t, c)
	ctx := context.Background()
	ns := "unknown-image"
	namespace(t, cs, ns)
	_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "docker.io/library/nginx:1.27"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, time.Minute, "the Pod waiting with ErrImageNeverPull", func() error {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Waiting == nil {
			return fmt.Errorf("status %+v", p.Status)
		}
		w := p.Status.ContainerStatuses[0].State.Waiting
		if w.Reason != "ErrImageNeverPull" || !strings.Contains(w.Message, "docker.io/library/nginx:1.27") || p.Status.Phase != corev1.PodPending {
			return fmt.Errorf("phase %s waiting %+v", p.Status.Phase, w)
		}
		return nil
	})
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "nginx", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, time.Minute, "the Pod deleted", func() error {
		_, err := cs.CoreV1().Pods(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
}

func getJSON(t *testing.T, hc *http.Client, url string, v any) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}

func selfSigned(t *testing.T, host string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// TestLeftRunning leaves a Pod running: the teardown that RunTests checks
// must kill its process and remove its network namespace.
func TestLeftRunning(t *testing.T) {
	c := cluster.Current(t)
	cs := clientset(t, c)
	ctx := context.Background()
	ns := "left-running"
	namespace(t, cs, ns)
	_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "echo", Image: echoImage}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, time.Minute, "the Pod Ready", func() error {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "echo", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("not ready: %+v", p.Status.Conditions)
	})
}

// TestLogs: pods/log through the API server reaches the node agent's
// kubelet API, with sinceTime filtering.
func TestLogs(t *testing.T) {
	c := cluster.Current(t)
	cs := clientset(t, c)
	ctx := context.Background()
	ns := "logs"
	namespace(t, cs, ns)
	_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "echo", Image: echoImage}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ip string
	testwait.Until(t, time.Minute, "the Pod Ready", func() error {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "echo", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(p.Status.ContainerStatuses) == 0 || !p.Status.ContainerStatuses[0].Ready {
			return fmt.Errorf("not ready")
		}
		ip = p.Status.PodIP
		return nil
	})
	// sinceTime travels with second precision: the next full second.
	since := metav1.NewTime(time.Now().Add(time.Second).Truncate(time.Second))
	time.Sleep(time.Until(since.Time) + 100*time.Millisecond)
	var got struct{ Path string }
	getJSON(t, http.DefaultClient, "http://"+net.JoinHostPort(ip, "3000")+"/logged-request", &got)
	testwait.Until(t, 30*time.Second, "the request in the Pod's log", func() error {
		b, err := cs.CoreV1().Pods(ns).GetLogs("echo", &corev1.PodLogOptions{Container: "echo", SinceTime: &since}).DoRaw(ctx)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "/logged-request") {
			return fmt.Errorf("log: %q", b)
		}
		if strings.Contains(string(b), "Starting server") {
			return fmt.Errorf("sinceTime not honoured: %q", b)
		}
		return nil
	})
}
