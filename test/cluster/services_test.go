package cluster_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/certgate/certgate/internal/testwait"
	"github.com/certgate/certgate/test/cluster"
)

// echoPod is an echo-basic Pod answering HTTP on 3000 with its own name.
// A non-nil readiness probe replaces the default check of its port.
func echoPod(name string, labels map[string]string, readiness *corev1.Probe) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "echo", Image: echoImage, ReadinessProbe: readiness,
			Env: []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
		}}},
	}
}

// runPods creates the Pods and waits until each runs, returning them by
// name; wantReady says which must also be Ready.
func runPods(t *testing.T, cs kubernetes.Interface, ns string, wantReady map[string]bool, pods ...*corev1.Pod) map[string]*corev1.Pod {
	t.Helper()
	ctx := context.Background()
	for _, p := range pods {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]*corev1.Pod{}
	for _, p := range pods {
		testwait.Until(t, time.Minute, "Pod "+p.Name+" running", func() error {
			cur, err := cs.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(cur.Status.ContainerStatuses) != 1 || cur.Status.ContainerStatuses[0].State.Running == nil {
				return fmt.Errorf("status %+v", cur.Status)
			}
			if wantReady[p.Name] && !cur.Status.ContainerStatuses[0].Ready {
				return fmt.Errorf("not ready")
			}
			out[p.Name] = cur
			return nil
		})
	}
	return out
}

// service creates a Service selecting app=echo, port 80 to the Pods' 3000.
func service(t *testing.T, cs kubernetes.Interface, ns, name string, typ corev1.ServiceType) *corev1.Service {
	t.Helper()
	svc, err := cs.CoreV1().Services(ns).Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": "echo"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(3000)}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// netnsOf is the network namespace of a Pod's container process: what a
// program in that Pod would use.
func netnsOf(t *testing.T, p *corev1.Pod) string {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "local://"))
	if err != nil {
		t.Fatalf("pod %s: containerID %q", p.Name, p.Status.ContainerStatuses[0].ContainerID)
	}
	return fmt.Sprintf("/proc/%d/ns/net", pid)
}

// dialIn opens connections from inside the network namespace at nsPath (""
// for this process's, the cluster namespace): a socket belongs to the
// namespace of the thread that creates it.
func dialIn(nsPath string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if nsPath == "" {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
		type result struct {
			conn net.Conn
			err  error
		}
		ch := make(chan result, 1)
		go func() {
			// Never unlocked: the thread ends with this goroutine instead of
			// running other goroutines in the Pod's namespace.
			runtime.LockOSThread()
			f, err := os.Open(nsPath)
			if err != nil {
				ch <- result{nil, err}
				return
			}
			defer func() { _ = f.Close() }()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{nil, fmt.Errorf("entering %s: %w", nsPath, err)}
				return
			}
			var d net.Dialer
			conn, err := d.DialContext(ctx, network, addr)
			ch <- result{conn, err}
		}()
		r := <-ch
		return r.conn, r.err
	}
}

// clientIn is an HTTP client whose every request is a new connection from
// the namespace at nsPath, so kube-proxy picks an endpoint per request.
func clientIn(nsPath string, tlsCfg *tls.Config) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: dialIn(nsPath), DisableKeepAlives: true, TLSClientConfig: tlsCfg}}
}

// echoedPod sends GET url and returns the name of the Pod that answered.
func echoedPod(hc *http.Client, url string) (string, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	var got struct{ Pod string }
	if err := json.Unmarshal(b, &got); err != nil || got.Pod == "" {
		return "", fmt.Errorf("GET %s: no pod in %q (%v)", url, b, err)
	}
	return got.Pod, nil
}

// reachesAll sends requests from nsPath to url until every Pod in want
// has answered; an answer from any other Pod fails the test.
func reachesAll(t *testing.T, from, nsPath, url string, want ...string) {
	t.Helper()
	hc := clientIn(nsPath, nil)
	seen := map[string]bool{}
	testwait.Until(t, 30*time.Second, fmt.Sprintf("%s from %s answered by %v", url, from, want), func() error {
		pod, err := echoedPod(hc, url)
		if err != nil {
			return err
		}
		ok := false
		for _, w := range want {
			ok = ok || pod == w
		}
		if !ok {
			t.Fatalf("%s from %s: answered by pod %s, want one of %v", url, from, pod, want)
		}
		seen[pod] = true
		if len(seen) < len(want) {
			return fmt.Errorf("answered by %v so far", seen)
		}
		return nil
	})
}

// TestServiceClusterIP: kube-proxy sends a ClusterIP Service's traffic to
// its ready Pods, from the cluster namespace, from another Pod and from a
// backend Pod itself; the kubernetes Service reaches the API server.
func TestServiceClusterIP(t *testing.T) {
	c := cluster.Current(t)
	cs := clientset(t, c)
	ns := "svc-clusterip"
	namespace(t, cs, ns)
	echo := map[string]string{"app": "echo"}
	pods := runPods(t, cs, ns, map[string]bool{"echo-a": true, "echo-b": true, "client": true},
		echoPod("echo-a", echo, nil), echoPod("echo-b", echo, nil), echoPod("client", nil, nil))
	svc := service(t, cs, ns, "echo", corev1.ServiceTypeClusterIP)
	if ip, err := netip.ParseAddr(svc.Spec.ClusterIP); err != nil || !netip.MustParsePrefix(c.ServiceCIDR).Contains(ip) {
		t.Fatalf("clusterIP %q is not in %s", svc.Spec.ClusterIP, c.ServiceCIDR)
	}
	url := "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80") + "/"

	reachesAll(t, "the cluster namespace", "", url, "echo-a", "echo-b")
	reachesAll(t, "Pod client", netnsOf(t, pods["client"]), url, "echo-a", "echo-b")
	reachesAll(t, "backend Pod echo-a", netnsOf(t, pods["echo-a"]), url, "echo-a", "echo-b")

	t.Run("KubernetesService", func(t *testing.T) {
		k, err := cs.CoreV1().Services("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		caPEM, err := os.ReadFile(filepath.Join(c.PKIDir(), "ca.crt"))
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(caPEM)
		// As client-go in a Pod does: the cluster CA, the Service's name.
		hc := clientIn(netnsOf(t, pods["client"]), &tls.Config{RootCAs: roots, ServerName: "kubernetes.default.svc", MinVersion: tls.VersionTLS12})
		var v struct{ GitVersion string }
		getJSON(t, hc, "https://"+net.JoinHostPort(k.Spec.ClusterIP, "443")+"/version", &v)
		if v.GitVersion != "v1.37.2" {
			t.Errorf("the API server behind %s:443 says version %q, want v1.37.2", k.Spec.ClusterIP, v.GitVersion)
		}
	})
}

// TestServiceLoadBalancer: a LoadBalancer Service gets an address from the
// pool, on the bridge, that reaches its Pods from the cluster namespace and
// from a Pod; a second one gets another address; deleting a Service frees
// its address.
func TestServiceLoadBalancer(t *testing.T) {
	c := cluster.Current(t)
	cs := clientset(t, c)
	ctx := context.Background()
	ns := "svc-lb"
	namespace(t, cs, ns)
	pods := runPods(t, cs, ns, map[string]bool{"echo": true, "client": true},
		echoPod("echo", map[string]string{"app": "echo"}, nil), echoPod("client", nil, nil))
	pool := netip.MustParsePrefix(c.LoadBalancerPool)

	addrs := map[string]string{}
	for _, name := range []string{"lb-1", "lb-2"} {
		service(t, cs, ns, name, corev1.ServiceTypeLoadBalancer)
		testwait.Until(t, 30*time.Second, name+" with a load-balancer address from "+c.LoadBalancerPool, func() error {
			svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			in := svc.Status.LoadBalancer.Ingress
			if len(in) != 1 || in[0].IPMode == nil || *in[0].IPMode != corev1.LoadBalancerIPModeVIP {
				return fmt.Errorf("ingress %+v", in)
			}
			if a, err := netip.ParseAddr(in[0].IP); err != nil || !pool.Contains(a) {
				t.Fatalf("%s: address %q is not in the pool %s", name, in[0].IP, pool)
			}
			addrs[name] = in[0].IP
			return nil
		})
	}
	if addrs["lb-1"] == addrs["lb-2"] {
		t.Fatalf("both Services got %s", addrs["lb-1"])
	}
	for _, name := range []string{"lb-1", "lb-2"} {
		if !onBridge(t, c, addrs[name]) {
			t.Errorf("%s's address %s is not on the bridge %s", name, addrs[name], c.Bridge)
		}
		url := "http://" + net.JoinHostPort(addrs[name], "80") + "/"
		reachesAll(t, "the cluster namespace", "", url, "echo")
		reachesAll(t, "Pod client", netnsOf(t, pods["client"]), url, "echo")
	}

	if err := cs.CoreV1().Services(ns).Delete(ctx, "lb-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 30*time.Second, "lb-1's address off the bridge", func() error {
		if onBridge(t, c, addrs["lb-1"]) {
			return fmt.Errorf("%s still on %s", addrs["lb-1"], c.Bridge)
		}
		return nil
	})
	if !onBridge(t, c, addrs["lb-2"]) {
		t.Errorf("deleting lb-1 took lb-2's address %s off the bridge", addrs["lb-2"])
	}
}

func onBridge(t *testing.T, c *cluster.Config, addr string) bool {
	t.Helper()
	ifi, err := net.InterfaceByName(c.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	as, err := ifi.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok && n.IP.String() == addr {
			return true
		}
	}
	return false
}

// TestUnreadyPodGetsNoTraffic: a Pod that serves but fails its readiness
// probe is in the Service's EndpointSlice as not ready, and kube-proxy
// sends it none of the Service's requests.
func TestUnreadyPodGetsNoTraffic(t *testing.T) {
	c := cluster.Current(t)
	cs := clientset(t, c)
	ctx := context.Background()
	ns := "svc-unready"
	namespace(t, cs, ns)
	echo := map[string]string{"app": "echo"}
	// Nothing listens on 3999: the probe fails while the Pod serves on 3000.
	never := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(3999)}}}
	pods := runPods(t, cs, ns, map[string]bool{"ready": true},
		echoPod("ready", echo, nil), echoPod("unready", echo, never))
	svc := service(t, cs, ns, "echo", corev1.ServiceTypeClusterIP)

	testwait.Until(t, time.Minute, "an EndpointSlice with ready and unready", func() error {
		slices, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=echo"})
		if err != nil {
			return err
		}
		ready := map[string]bool{}
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.TargetRef != nil {
					ready[e.TargetRef.Name] = e.Conditions.Ready != nil && *e.Conditions.Ready
				}
			}
		}
		if r, ok := ready["unready"]; len(ready) != 2 || !ready["ready"] || !ok || r {
			return fmt.Errorf("endpoints ready: %v", ready)
		}
		return nil
	})
	// The unready Pod would answer if it were sent a request.
	if pod, err := echoedPod(clientIn("", nil), "http://"+net.JoinHostPort(pods["unready"].Status.PodIP, "3000")+"/"); err != nil || pod != "unready" {
		t.Fatalf("the unready Pod does not serve directly: %q, %v", pod, err)
	}
	url := "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80") + "/"
	reachesAll(t, "the cluster namespace", "", url, "ready")
	hc := clientIn("", nil)
	for i := range 40 {
		pod, err := echoedPod(hc, url)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if pod != "ready" {
			t.Fatalf("request %d through the Service answered by %s, want only the ready Pod", i, pod)
		}
	}
}
