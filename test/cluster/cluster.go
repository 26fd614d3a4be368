// Package cluster is certgate's local Kubernetes cluster for tests (DESIGN.md
// "Test tiers", tier 5): etcd, kube-apiserver, kube-controller-manager and
// kube-proxy built from pinned modules (`make kube-binaries`, tools/kube),
// plus a node agent (package node) that plays kubelet and scheduler for
// this machine and runs Pods as local processes, each in its own network
// namespace, and a load-balancer loop that gives Services of type
// LoadBalancer an address on the bridge.
//
// Services work as on a real cluster: kube-proxy in nftables mode, inside
// the cluster namespace, sends ClusterIP and LoadBalancer traffic to the
// ready endpoints kube-controller-manager's EndpointSlice controller
// publishes (readiness is the node agent's probes). The cluster namespace
// forwards, since a Pod's Service packets are routed there, but it has no
// interface but lo and the bridge and no default route. kube-proxy
// masquerades all Service traffic (--masquerade-all): Pod-to-Pod replies
// are bridged, not routed, so unless br_netfilter passes bridged packets
// through the namespace's hooks they would miss the reverse translation.
//
// Everything runs inside one named network namespace (`ip netns add`,
// default "certgate-cluster") holding lo, a bridge with a private subnet
// (10.244.0.0/24 by default, the node's address is .1) and no default route:
// no packet the cluster sends can leave the machine. Other processes join it
// with `ip netns exec NAME …` or `nsenter --net=/run/netns/NAME …`.
//
// Up creates the namespace and starts a supervisor process inside it (the
// calling executable re-executed: its main must call Main first), which
// starts the control plane and the node agent as its children and keeps
// them running; Down stops the supervisor, kills whatever is left in the
// cluster's and the Pods' network namespaces and deletes them. Logs,
// certificates and kubeconfigs live in the state directory.
package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/certgate/certgate/test/cluster/node"
	"github.com/certgate/certgate/test/envtest"
)

const (
	// DefaultName is the network namespace of the cluster `make cluster-up`
	// starts.
	DefaultName = "certgate-cluster"
	// supervisorEnv marks the re-executed supervisor; its value is the
	// state directory.
	supervisorEnv = "CERTGATE_CLUSTER_SUPERVISOR"
	nodeAgentUser = "certgate-node-agent"
	// kubeProxyUser is bound to system:node-proxier by the API server's
	// bootstrap policy.
	kubeProxyUser = "system:kube-proxy"
	// loadBalancerUser is the load-balancer loop's identity.
	loadBalancerUser = "certgate-load-balancer"
	// kubeletClientUser is the API server's identity towards the node
	// agent's kubelet API.
	kubeletClientUser = "kube-apiserver-kubelet-client"
)

// Config describes a cluster. Zero fields get defaults (see Defaults).
type Config struct {
	// Name is the network namespace (/run/netns/Name); Pod namespaces are
	// named Name-p-<uid prefix>.
	Name string `json:"name"`
	// StateDir holds certificates, kubeconfigs, etcd's data, logs and the
	// Pods' files; default <repo>/.cache/cluster.
	StateDir string `json:"stateDir"`
	// RepoRoot is the certgate checkout (for the kube binaries, the
	// echo-basic module and CRDs).
	RepoRoot string `json:"repoRoot"`
	// BinDir holds etcd, kube-apiserver, kube-controller-manager, kube-proxy,
	// kubectl.
	BinDir string `json:"binDir"`
	// Subnet is the bridge's (and the Pods') subnet; NodeIP, its first
	// address, is on the bridge and is the Node's and API server's address.
	Subnet string `json:"subnet"`
	NodeIP string `json:"nodeIP"`
	Bridge string `json:"bridge"`
	// ServiceCIDR is kube-apiserver's --service-cluster-ip-range. kube-proxy
	// (nftables mode, in the cluster namespace) routes ClusterIPs to the
	// Services' ready endpoints, from Pods and from the cluster namespace.
	ServiceCIDR string `json:"serviceCIDR"`
	// LoadBalancerPool is where Services of type LoadBalancer get their
	// status.loadBalancer.ingress address from; each assigned address is
	// added to the bridge, as MetalLB's layer-2 mode announces its pool on
	// a kind cluster's network, and kube-proxy routes it to the Service.
	LoadBalancerPool string `json:"loadBalancerPool"`
	// GatewayPool is a CIDR routed as local inside the cluster namespace
	// (`ip route add local … dev lo`): any address in it can be bound there
	// without configuring it, for `certgate controller --gateway-address-pool`.
	GatewayPool string `json:"gatewayPool"`
	NodeName    string `json:"nodeName"`
	// GatewayAPICRDs installs the Gateway API CRDs of this channel
	// ("standard" or "experimental", from the gateway-api module version in
	// go.mod) and certgate's CRDs; empty installs none.
	GatewayAPICRDs string `json:"gatewayAPICRDs"`
	// ChartCRDs leaves certgate's CRDs to the Helm chart (its
	// crds.enabled): Helm refuses to adopt CRDs another client created.
	ChartCRDs bool `json:"chartCRDs"`
	// CoreDNS also builds CoreDNS from the module pinned in
	// test/cluster/images/coredns (first build about two minutes) and runs
	// it for the registry.k8s.io/coredns/coredns image, which the Gateway API
	// conformance base manifests deploy.
	CoreDNS bool `json:"coreDNS"`
	// OCILayouts are OCI image layouts whose images Pods may run, unpacked
	// into their own root filesystems (`make image` writes certgate's to
	// .cache/image/certgate, the default when it exists). Up fails if one
	// is missing.
	OCILayouts []string `json:"ociLayouts"`
	// StartTimeout bounds Up; default 4 minutes.
	StartTimeout time.Duration `json:"startTimeout"`
}

// Defaults fills zero fields.
func (c *Config) Defaults() error {
	if c.RepoRoot == "" {
		root, err := envtest.RepoRoot()
		if err != nil {
			return err
		}
		c.RepoRoot = root
	}
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&c.Name, DefaultName)
	set(&c.StateDir, filepath.Join(c.RepoRoot, ".cache", "cluster"))
	set(&c.BinDir, envtest.BinDir(c.RepoRoot))
	set(&c.Subnet, "10.244.0.0/24")
	set(&c.Bridge, "cg0")
	set(&c.ServiceCIDR, "10.96.0.0/16")
	set(&c.GatewayPool, "10.245.0.0/24")
	set(&c.LoadBalancerPool, "10.246.0.0/24")
	set(&c.NodeName, "certgate-node")
	if c.NodeIP == "" {
		_, n, err := net.ParseCIDR(c.Subnet)
		if err != nil {
			return fmt.Errorf("subnet %q: %w", c.Subnet, err)
		}
		ip := n.IP.To4()
		if ip == nil {
			return fmt.Errorf("subnet %q: only IPv4 is supported", c.Subnet)
		}
		ip = append(net.IP(nil), ip...)
		ip[3]++
		c.NodeIP = ip.String()
	}
	if c.OCILayouts == nil {
		if d := c.DefaultImageLayout(); fileExists(filepath.Join(d, "index.json")) {
			c.OCILayouts = []string{d}
		}
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 4 * time.Minute
	}
	var err error
	if c.StateDir, err = filepath.Abs(c.StateDir); err != nil {
		return err
	}
	return nil
}

// DefaultImageLayout is where `make image` writes certgate's image.
func (c *Config) DefaultImageLayout() string {
	return filepath.Join(c.RepoRoot, ".cache", "image", "certgate")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Paths in the state directory.
func (c *Config) PKIDir() string    { return filepath.Join(c.StateDir, "pki") }
func (c *Config) LogDir() string    { return filepath.Join(c.StateDir, "logs") }
func (c *Config) PodsDir() string   { return filepath.Join(c.StateDir, "pods") }
func (c *Config) EtcdDir() string   { return filepath.Join(c.StateDir, "etcd") }
func (c *Config) ToolDir() string   { return filepath.Join(c.StateDir, "bin") }
func (c *Config) pidFile() string   { return filepath.Join(c.StateDir, "supervisor.pid") }
func (c *Config) readyFile() string { return filepath.Join(c.StateDir, "ready") }
func (c *Config) failFile() string  { return filepath.Join(c.StateDir, "failed") }
func (c *Config) configFile() string {
	return filepath.Join(c.StateDir, "config.json")
}

// Kubeconfig is the admin (system:masters) kubeconfig.
func (c *Config) Kubeconfig() string { return filepath.Join(c.StateDir, "admin.kubeconfig") }

// Kubectl is the kubectl binary built from the pinned module.
func (c *Config) Kubectl() string { return filepath.Join(c.BinDir, "kubectl") }

// EchoBasic is the echo-basic binary the node agent runs for its image.
func (c *Config) EchoBasic() string { return filepath.Join(c.ToolDir(), "echo-basic") }

// CoreDNSBinary is the coredns binary (Config.CoreDNS).
func (c *Config) CoreDNSBinary() string { return filepath.Join(c.ToolDir(), "coredns") }

// NetNSPath is the cluster namespace's bind mount, for nsenter --net=.
func (c *Config) NetNSPath() string { return filepath.Join("/run/netns", c.Name) }

// PodNetNSPrefix prefixes the Pods' network namespace names.
func (c *Config) PodNetNSPrefix() string { return c.Name + "-p-" }

// APIServerURL is the API server's address inside the cluster namespace.
func (c *Config) APIServerURL() string { return "https://" + net.JoinHostPort(c.NodeIP, "6443") }

// RESTConfig is an admin client configuration; it works only from inside
// the cluster's network namespace.
func (c *Config) RESTConfig() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
}

// Command returns a command that runs inside the cluster's network
// namespace.
func (c *Config) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + c.NetNSPath(), "--", name}, args...)...)
}

// Load reads the configuration a running cluster was started with.
func Load(stateDir string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("no cluster state in %s (is the cluster up?): %w", stateDir, err)
	}
	c := &Config{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(stateDir, "config.json"), err)
	}
	return c, nil
}

// Main must be the first call of the main (or TestMain) of any program that
// calls Up: Up re-executes that program as the cluster's supervisor, and Main
// runs the supervisor and exits when it is one. The node agent re-executes
// it as the first process of each container of an OCI image, which Main
// sets up and replaces with the container's entrypoint.
func Main() {
	node.ContainerInit()
	if dir := os.Getenv(supervisorEnv); dir != "" {
		os.Exit(supervise(dir))
	}
}

// Up starts a cluster and returns once the API server answers, the Node is
// Ready and the "default" ServiceAccount exists. On failure it tears down
// what it started. It must run as root, outside the cluster namespace.
func Up(ctx context.Context, c *Config) error {
	if err := c.Defaults(); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("the local cluster needs root (network namespaces, veth pairs, bridges)")
	}
	for _, tool := range []string{"ip", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: install iproute2 and util-linux", tool)
		}
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return errors.New("nft not found: kube-proxy's nftables mode needs it (Debian package nftables)")
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-proxy", "kubectl"} {
		if fi, err := os.Stat(filepath.Join(c.BinDir, b)); err != nil || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%s not found in %s: run make kube-binaries", b, c.BinDir)
		}
	}
	for _, d := range c.OCILayouts {
		if !fileExists(filepath.Join(d, "index.json")) {
			return fmt.Errorf("no OCI image layout at %s: run make image", d)
		}
	}
	if _, err := os.Stat(c.NetNSPath()); err == nil {
		return fmt.Errorf("network namespace %s exists: a cluster named %q is running or was not torn down; "+
			"run `localcluster down` (make cluster-down) first", c.NetNSPath(), c.Name)
	}
	if pid := readPid(c.pidFile()); pid > 0 && isSupervisor(pid, c.StateDir) {
		return fmt.Errorf("a supervisor (pid %d) still runs for %s: run down first", pid, c.StateDir)
	}

	// A fresh state directory, except the built tools.
	for _, d := range []string{c.PKIDir(), c.EtcdDir(), c.PodsDir(), c.LogDir()} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	for _, f := range []string{c.readyFile(), c.failFile(), c.pidFile()} {
		_ = os.Remove(f)
	}
	for _, d := range []string{c.StateDir, c.LogDir(), c.PodsDir(), c.ToolDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := buildEchoBasic(ctx, c); err != nil {
		return err
	}
	if c.CoreDNS {
		if err := buildCoreDNS(ctx, c); err != nil {
			return err
		}
	}
	if err := writePKI(c); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(c.configFile(), b, 0o644); err != nil {
		return err
	}

	if err := createNetNS(c); err != nil {
		_ = Down(c)
		return err
	}
	if err := startSupervisor(c); err != nil {
		_ = Down(c)
		return err
	}
	if err := waitReady(ctx, c); err != nil {
		_ = Down(c)
		return err
	}
	return nil
}

func buildEchoBasic(ctx context.Context, c *Config) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", c.EchoBasic(), "sigs.k8s.io/gateway-api/conformance/echo-basic")
	cmd.Dir = c.RepoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building echo-basic from the pinned module (go build in %s): %v\n%s", c.RepoRoot, err, out)
	}
	return nil
}

func buildCoreDNS(ctx context.Context, c *Config) error {
	dir := filepath.Join(c.RepoRoot, "test", "cluster", "images", "coredns")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", c.CoreDNSBinary(), ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building coredns from the module pinned in %s: %v\n%s", dir, err, out)
	}
	return nil
}

// ip runs iproute2's ip.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func createNetNS(c *Config) error {
	ones, _ := mustCIDR(c.Subnet).Mask.Size()
	n := c.Name
	steps := [][]string{
		{"netns", "add", n},
		{"-n", n, "link", "set", "lo", "up"},
		{"-n", n, "link", "add", c.Bridge, "type", "bridge"},
		{"-n", n, "addr", "add", c.NodeIP + "/" + strconv.Itoa(ones), "dev", c.Bridge},
		{"-n", n, "link", "set", c.Bridge, "up"},
		{"-n", n, "route", "add", "local", c.GatewayPool, "dev", "lo"},
		// ClusterIPs need a route for the cluster namespace's own
		// connections to reach kube-proxy's output hook; Pods send them
		// to their default gateway, the bridge.
		{"-n", n, "route", "add", c.ServiceCIDR, "dev", c.Bridge, "src", c.NodeIP},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return fmt.Errorf("creating the cluster network namespace: %w", err)
		}
	}
	return nil
}

func mustCIDR(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

func startSupervisor(c *Config) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(c.LogDir(), "supervisor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer func() { _ = logf.Close() }()
	cmd := exec.Command("nsenter", "--net="+c.NetNSPath(), "--", exe)
	cmd.Env = append(os.Environ(), supervisorEnv+"="+c.StateDir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = c.StateDir
	// Its own session: the caller's terminal signals do not reach it; Down
	// stops it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the cluster supervisor: %w", err)
	}
	if err := os.WriteFile(c.pidFile(), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return err
	}
	// Reap it if it dies while we still run; Down finds it by its pid file.
	go func() { _ = cmd.Wait() }()
	return nil
}

func waitReady(ctx context.Context, c *Config) error {
	ctx, cancel := context.WithTimeout(ctx, c.StartTimeout)
	defer cancel()
	pid := readPid(c.pidFile())
	for {
		if _, err := os.Stat(c.readyFile()); err == nil {
			return nil
		}
		if b, err := os.ReadFile(c.failFile()); err == nil {
			return fmt.Errorf("the cluster failed to start: %s\n(logs in %s)", bytes.TrimSpace(b), c.LogDir())
		}
		if !alive(pid) {
			return fmt.Errorf("the cluster supervisor exited during start; see %s\n%s",
				filepath.Join(c.LogDir(), "supervisor.log"), tail(filepath.Join(c.LogDir(), "supervisor.log"), 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the cluster did not become ready within %v; logs in %s\n%s", c.StartTimeout, c.LogDir(),
				tail(filepath.Join(c.LogDir(), "supervisor.log"), 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Down stops the cluster described by c (a zero Config: the default one):
// it asks the supervisor to stop its children and Pods, then kills every
// process still in the cluster's or a Pod's network namespace and deletes
// those namespaces. It is idempotent and tolerates a half-started cluster.
func Down(c *Config) error {
	if err := c.Defaults(); err != nil {
		return err
	}
	var errs []error
	if pid := readPid(c.pidFile()); pid > 0 && isSupervisor(pid, c.StateDir) {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		if !waitGone(pid, 45*time.Second) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			waitGone(pid, 5*time.Second)
		}
	}
	names, err := clusterNetNS(c)
	if err != nil {
		errs = append(errs, err)
	}
	// Pods first, the cluster namespace last.
	for i := len(names) - 1; i >= 0; i-- {
		if err := killNetNS(names[i]); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range []string{c.pidFile(), c.readyFile()} {
		_ = os.Remove(f)
	}
	return errors.Join(errs...)
}

// clusterNetNS lists the cluster's namespace and its Pods' namespaces that
// exist, the cluster's first.
func clusterNetNS(c *Config) ([]string, error) {
	ents, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Name() == c.Name {
			out = append([]string{e.Name()}, out...)
		} else if strings.HasPrefix(e.Name(), c.PodNetNSPrefix()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// NetNSPids lists the processes in a named network namespace.
func NetNSPids(name string) ([]int, error) {
	out, err := exec.Command("ip", "netns", "pids", name).Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns pids %s: %w", name, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// killNetNS kills every process in a named network namespace and deletes it.
func killNetNS(name string) error {
	for try := 0; try < 50; try++ {
		pids, err := NetNSPids(name)
		if err != nil || len(pids) == 0 {
			break
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ip("netns", "del", name)
}

func readPid(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return p
}

// isSupervisor reports whether pid is the supervisor of stateDir (and not
// an unrelated process that reused the pid).
func isSupervisor(pid int, stateDir string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if string(kv) == supervisorEnv+"="+stateDir {
			return true
		}
	}
	return false
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie is gone for our purposes.
	if i := bytes.LastIndexByte(b, ')'); i > 0 && len(b) > i+2 && b[i+2] == 'Z' {
		return false
	}
	return true
}

func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return !alive(pid)
}

func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Start runs a command detached inside the running cluster's network
// namespace, in its own session, with its output in logs/NAME.log and its
// pid in NAME.pid. It is not supervised: Down kills it with everything
// else in the namespace.
func Start(c *Config, name string, argv ...string) (int, error) {
	if err := c.Defaults(); err != nil {
		return 0, err
	}
	if _, err := os.Stat(c.readyFile()); err != nil {
		return 0, fmt.Errorf("the cluster %q is not up (no %s)", c.Name, c.readyFile())
	}
	if len(argv) == 0 {
		return 0, errors.New("no command")
	}
	logf, err := os.OpenFile(filepath.Join(c.LogDir(), name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer func() { _ = logf.Close() }()
	cmd := c.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	return pid, os.WriteFile(filepath.Join(c.StateDir, name+".pid"), []byte(strconv.Itoa(pid)), 0o644)
}
