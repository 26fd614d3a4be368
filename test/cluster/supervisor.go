package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/certgate/certgate/test/cluster/node"
	"github.com/certgate/certgate/test/envtest"
)

// child is a control-plane process the supervisor started.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// supervise runs inside the cluster namespace: it starts etcd,
// kube-apiserver, kube-controller-manager, the node agent, kube-proxy and
// the load-balancer loop, writes the
// ready (or failed) file, and on SIGTERM stops them in reverse order.
func supervise(stateDir string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	c, err := Load(stateDir)
	if err != nil {
		log.Error("loading the configuration", "err", err)
		return 1
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer cancel()

	s := &supervisor{c: c, log: log}
	agentDone, err := s.start(ctx)
	if err != nil {
		log.Error("start failed", "err", err)
		_ = os.WriteFile(c.failFile(), []byte(err.Error()+"\n"), 0o644)
		s.stop()
		return 1
	}
	if err := os.WriteFile(c.readyFile(), []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		log.Error("writing the ready file", "err", err)
	}
	log.Info("cluster ready", "kubeconfig", c.Kubeconfig(), "netns", c.Name)

	<-ctx.Done()
	log.Info("stopping")
	if agentDone != nil {
		<-agentDone
	}
	s.stop()
	log.Info("stopped")
	return 0
}

type supervisor struct {
	c        *Config
	log      *slog.Logger
	mu       sync.Mutex
	children []*child
}

func (s *supervisor) start(ctx context.Context) (<-chan struct{}, error) {
	c := s.c
	t0 := time.Now()
	pki := func(f string) string { return filepath.Join(c.PKIDir(), f) }

	// etcd: plain HTTP on loopback inside the namespace, no fsync (test data).
	if _, err := s.spawn("etcd", filepath.Join(c.BinDir, "etcd"),
		"--name=default",
		"--data-dir="+c.EtcdDir(),
		"--listen-client-urls=http://127.0.0.1:2379",
		"--advertise-client-urls=http://127.0.0.1:2379",
		"--listen-peer-urls=http://127.0.0.1:2380",
		"--initial-advertise-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster=default=http://127.0.0.1:2380",
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	); err != nil {
		return nil, err
	}
	if err := s.waitHTTP(ctx, "etcd", "http://127.0.0.1:2379/health", nil, time.Minute); err != nil {
		return nil, err
	}
	s.log.Info("etcd ready", "after", time.Since(t0).Round(time.Millisecond))

	if _, err := s.spawn("kube-apiserver", filepath.Join(c.BinDir, "kube-apiserver"),
		"--etcd-servers=http://127.0.0.1:2379",
		"--bind-address=0.0.0.0",
		"--secure-port=6443",
		"--advertise-address="+c.NodeIP,
		"--tls-cert-file="+pki("apiserver.crt"),
		"--tls-private-key-file="+pki("apiserver.key"),
		"--client-ca-file="+pki("ca.crt"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki("sa.pub"),
		"--service-account-signing-key-file="+pki("sa.key"),
		"--service-cluster-ip-range="+c.ServiceCIDR,
		"--allow-privileged=true",
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-certificate-authority="+pki("ca.crt"),
		"--kubelet-client-certificate="+pki("apiserver-kubelet-client.crt"),
		"--kubelet-client-key="+pki("apiserver-kubelet-client.key"),
		"--cert-dir="+filepath.Join(c.StateDir, "apiserver"),
		"--v=1",
	); err != nil {
		return nil, err
	}
	tlsCfg, err := s.adminTLS()
	if err != nil {
		return nil, err
	}
	if err := s.waitHTTP(ctx, "kube-apiserver", "https://"+c.NodeIP+":6443/readyz", tlsCfg, 2*time.Minute); err != nil {
		return nil, err
	}
	s.log.Info("kube-apiserver ready", "after", time.Since(t0).Round(time.Millisecond))

	admin, err := clientFor(c.Kubeconfig())
	if err != nil {
		return nil, err
	}
	if err := bootstrapRBAC(ctx, admin); err != nil {
		return nil, err
	}

	if _, err := s.spawn("kube-controller-manager", filepath.Join(c.BinDir, "kube-controller-manager"),
		"--kubeconfig="+filepath.Join(c.StateDir, "kube-controller-manager.kubeconfig"),
		"--authentication-kubeconfig="+filepath.Join(c.StateDir, "kube-controller-manager.kubeconfig"),
		"--authorization-kubeconfig="+filepath.Join(c.StateDir, "kube-controller-manager.kubeconfig"),
		"--secure-port=0",
		"--leader-elect=false",
		"--controllers="+strings.Join([]string{
			"deployment-controller", "replicaset-controller", "endpointslice-controller",
			"serviceaccount-controller", "serviceaccount-token-controller", "namespace-controller",
			"garbage-collector-controller", "root-ca-certificate-publisher-controller",
		}, ","),
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+pki("sa.key"),
		"--root-ca-file="+pki("ca.crt"),
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
		"--concurrent-service-endpoint-syncs=10",
		"--v=1",
	); err != nil {
		return nil, err
	}

	if c.GatewayAPICRDs != "" {
		if err := s.installCRDs(ctx); err != nil {
			return nil, err
		}
		s.log.Info("CRDs installed", "channel", c.GatewayAPICRDs, "after", time.Since(t0).Round(time.Millisecond))
	}

	// The node agent: in this process, with its own identity and log.
	agentCS, err := clientFor(filepath.Join(c.StateDir, "node-agent.kubeconfig"))
	if err != nil {
		return nil, err
	}
	alog, err := os.OpenFile(filepath.Join(c.LogDir(), "node-agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	images := node.EchoBasicImages(c.EchoBasic())
	if c.CoreDNS {
		images = append(images, node.CoreDNSImages(c.CoreDNSBinary())...)
	}
	agent := &node.Agent{
		Client:      agentCS,
		NodeName:    c.NodeName,
		NodeIP:      c.NodeIP,
		Subnet:      c.Subnet,
		Bridge:      c.Bridge,
		NetNSPrefix: c.PodNetNSPrefix(),
		PodsDir:     c.PodsDir(),
		Images:      images,
		Log:         slog.New(slog.NewTextHandler(alog, nil)),
	}
	for _, dir := range c.OCILayouts {
		ims, err := node.LoadOCIImages(dir, filepath.Join(c.StateDir, "images"))
		if err != nil {
			return nil, err
		}
		agent.OCIImages = append(agent.OCIImages, ims...)
	}
	kubeletTLS, err := s.kubeletTLS()
	if err != nil {
		return nil, err
	}
	agent.KubeletTLS = kubeletTLS
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		if err := agent.Run(ctx); err != nil {
			s.log.Error("node agent", "err", err)
		}
	}()

	// Ready: the Node is Ready and Pods can be created in "default".
	if err := poll(ctx, 2*time.Minute, func() (bool, error) {
		n, err := admin.CoreV1().Nodes().Get(ctx, c.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		ready := false
		for _, cond := range n.Status.Conditions {
			ready = ready || (cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue)
		}
		if !ready {
			return false, nil
		}
		_, err = admin.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return agentDone, fmt.Errorf("waiting for the Node and the default ServiceAccount: %w", err)
	}
	s.log.Info("node ready", "after", time.Since(t0).Round(time.Millisecond))

	if err := s.startServiceProxy(ctx); err != nil {
		return agentDone, err
	}
	s.log.Info("kube-proxy ready", "after", time.Since(t0).Round(time.Millisecond))
	lbCS, err := clientFor(filepath.Join(c.StateDir, "load-balancer.kubeconfig"))
	if err != nil {
		return agentDone, err
	}
	lb, err := newLoadBalancer(lbCS, c.LoadBalancerPool, c.Bridge, s.log.With("component", "load-balancer"))
	if err != nil {
		return agentDone, err
	}
	go lb.run(ctx)
	return agentDone, nil
}

// startServiceProxy makes the namespace route Pods' Service packets and
// starts kube-proxy in nftables mode, returning once it has programmed
// its rules.
func (s *supervisor) startServiceProxy(ctx context.Context) error {
	c := s.c
	// This process runs in the cluster namespace: /proc/sys/net is its.
	// Forwarding goes nowhere but the bridge (no other interface, no
	// default route). No redirects: a Pod told to reach a ClusterIP's
	// backend directly would skip the translation.
	sysctls := map[string]string{
		"net/ipv4/ip_forward":                           "1",
		"net/ipv4/conf/all/send_redirects":              "0",
		"net/ipv4/conf/default/send_redirects":          "0",
		"net/ipv4/conf/" + c.Bridge + "/send_redirects": "0",
	}
	for k, v := range sysctls {
		if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s in the cluster namespace: %w", k, v, err)
		}
	}
	if _, err := s.spawn("kube-proxy", filepath.Join(c.BinDir, "kube-proxy"),
		"--kubeconfig="+filepath.Join(c.StateDir, "kube-proxy.kubeconfig"),
		"--proxy-mode=nftables",
		"--hostname-override="+c.NodeName,
		"--masquerade-all",
		// Zero leaves the kernel's conntrack settings alone: most are not
		// writable from a network namespace other than the host's.
		"--conntrack-max-per-core=0",
		"--conntrack-min=0",
		"--conntrack-tcp-timeout-established=0",
		"--conntrack-tcp-timeout-close-wait=0",
		"--healthz-bind-address=127.0.0.1:10256",
		"--metrics-bind-address=127.0.0.1:10249",
		"--v=1",
	); err != nil {
		return err
	}
	// /healthz answers 200 once the first sync has written the rules.
	return s.waitHTTP(ctx, "kube-proxy", "http://127.0.0.1:10256/healthz", nil, 2*time.Minute)
}

// spawn starts a control-plane binary with its output in logs/NAME.log.
// It dies with the supervisor (Pdeathsig).
func (s *supervisor) spawn(name, path string, args ...string) (*child, error) {
	logf, err := os.OpenFile(filepath.Join(s.c.LogDir(), name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logf.Close() }()
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = s.c.StateDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	ch := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		close(ch.done)
		s.log.Info("process exited", "name", name, "pid", cmd.Process.Pid, "err", err)
	}()
	s.mu.Lock()
	s.children = append(s.children, ch)
	s.mu.Unlock()
	s.log.Info("started", "name", name, "pid", cmd.Process.Pid, "log", logf.Name())
	return ch, nil
}

// stop terminates the children in reverse order of start.
func (s *supervisor) stop() {
	s.mu.Lock()
	children := s.children
	s.children = nil
	s.mu.Unlock()
	for i := len(children) - 1; i >= 0; i-- {
		ch := children[i]
		_ = syscall.Kill(-ch.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-ch.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-ch.cmd.Process.Pid, syscall.SIGKILL)
			<-ch.done
		}
	}
}

func (s *supervisor) exited(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.children {
		if ch.name == name {
			select {
			case <-ch.done:
				return true
			default:
			}
		}
	}
	return false
}

func (s *supervisor) adminTLS() (*tls.Config, error) {
	kc, err := clientcmd.LoadFromFile(s.c.Kubeconfig())
	if err != nil {
		return nil, err
	}
	ai := kc.AuthInfos[kc.Contexts[kc.CurrentContext].AuthInfo]
	cert, err := tls.X509KeyPair(ai.ClientCertificateData, ai.ClientKeyData)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(s.c.PKIDir(), "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool.AppendCertsFromPEM(caPEM)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// kubeletTLS serves the node agent's kubelet API with the kubelet
// certificate and admits only the API server's client certificate.
func (s *supervisor) kubeletTLS() (*tls.Config, error) {
	pki := func(f string) string { return filepath.Join(s.c.PKIDir(), f) }
	cert, err := tls.LoadX509KeyPair(pki("kubelet.crt"), pki("kubelet.key"))
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(pki("ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || cs.PeerCertificates[0].Subject.CommonName != kubeletClientUser {
				return errors.New("only the API server may call the kubelet API")
			}
			return nil
		},
	}, nil
}

func (s *supervisor) waitHTTP(ctx context.Context, name, url string, tlsCfg *tls.Config, d time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	var last string
	err := poll(ctx, d, func() (bool, error) {
		if s.exited(name) {
			return false, fmt.Errorf("%s exited; see %s\n%s", name, filepath.Join(s.c.LogDir(), name+".log"),
				tail(filepath.Join(s.c.LogDir(), name+".log"), 15))
		}
		resp, err := hc.Get(url)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		_ = resp.Body.Close()
		last = resp.Status
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s (%s, last: %s): %w", name, url, last, err)
	}
	return nil
}

// installCRDs applies the Gateway API CRDs of the chosen channel and,
// unless the chart installs them, certgate's CRDs with kubectl.
func (s *supervisor) installCRDs(ctx context.Context) error {
	c := s.c
	gw, err := envtest.GatewayAPIModuleDir(c.RepoRoot)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(gw, "config", "crd", c.GatewayAPICRDs, "gateway.networking.k8s.io_*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no Gateway API CRDs for channel %q in %s", c.GatewayAPICRDs, gw)
	}
	args := []string{"--kubeconfig=" + c.Kubeconfig(), "apply", "--server-side", "--force-conflicts"}
	if !c.ChartCRDs {
		args = append(args, "-f", filepath.Join(c.RepoRoot, "config", "crd", "bases"))
	}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	cmd := exec.CommandContext(ctx, c.Kubectl(), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("installing CRDs (kubectl %s): %v\n%s", strings.Join(args, " "), err, out)
	}
	cmd = exec.CommandContext(ctx, c.Kubectl(), "--kubeconfig="+c.Kubeconfig(), "wait", "--for=condition=Established",
		"--timeout=60s", "crd", "--all")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("waiting for the CRDs: %v\n%s", err, out)
	}
	return nil
}

// bootstrapRBAC gives the node agent what it uses: a kubelet's and a
// scheduler's rights over Pods and Nodes, reading the Secrets and
// ConfigMaps Pods mount, and service-account tokens for projected volumes;
// and the load-balancer loop the Service status it writes.
func bootstrapRBAC(ctx context.Context, cs kubernetes.Interface) error {
	agent := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"nodes/status"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"pods/status"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"pods/binding"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}},
		{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
	lb := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"services/status"}, Verbs: []string{"update", "patch"}},
	}
	if err := grant(ctx, cs, "certgate:node-agent", nodeAgentUser, agent); err != nil {
		return err
	}
	return grant(ctx, cs, "certgate:load-balancer", loadBalancerUser, lb)
}

// grant creates a ClusterRole with rules and binds it to user.
func grant(ctx context.Context, cs kubernetes.Interface, name, user string, rules []rbacv1.PolicyRule) error {
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	return poll(ctx, time.Minute, func() (bool, error) {
		// The API server's post-start hooks may still be creating the
		// default roles: retry.
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return false, nil
		}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return false, nil
		}
		return true, nil
	})
}

func clientFor(kubeconfig string) (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	return kubernetes.NewForConfig(cfg)
}

// poll calls f every 100ms until it returns true or an error, or d passes.
func poll(ctx context.Context, d time.Duration, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		ok, err := f()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("timed out after " + d.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
