// Package node is the local cluster's node agent: it plays kubelet and
// scheduler for this machine. It registers a Node, binds every unscheduled
// Pod (default scheduler) to it, gives each Pod its own network namespace
// with a veth pair into the cluster's bridge and an address from the
// bridge's subnet, and runs each container as a local process inside that
// namespace, for the images it knows (Image). A Pod with an image it does
// not know waits with reason ErrImageNeverPull and a message saying so.
//
// Files: each Pod has a directory PodsDir/<namespace>_<name>_<uid> holding
// its volumes (Secrets, ConfigMaps, downward API, projected
// service-account tokens, emptyDirs) and container logs. Processes are not
// chrooted and get no mount namespace: a container's volumeMounts are
// honoured by rewriting its mountPath, wherever it appears as a path in the
// container's env values, command, args and workingDir, to the volume's
// directory (e.g. TLS_SERVER_CERT=/etc/secret-volume/crt becomes
// …/volumes/secret-volume/crt).
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Agent is the node agent. Fill the fields and call Run.
type Agent struct {
	Client   kubernetes.Interface
	NodeName string
	// NodeIP is the bridge's address: the Node's InternalIP, the Pods'
	// default gateway and hostIP.
	NodeIP string
	// Subnet is the bridge's subnet; Pods get addresses from it.
	Subnet string
	// Bridge is the bridge device (in the agent's network namespace).
	Bridge string
	// NetNSPrefix prefixes the Pods' network namespace names.
	NetNSPrefix string
	// PodsDir holds a directory per Pod.
	PodsDir string
	// PodAPIServer, if set (host:port), is what Pods get as
	// KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT instead of the
	// default/kubernetes Service's ClusterIP and port, as kubelet gives
	// them: for a cluster whose ClusterIPs do not route (no service proxy).
	PodAPIServer string
	// Images are local programs standing in for images.
	Images []Image
	// OCIImages are images whose filesystems Pods run in (LoadOCIImages).
	OCIImages []*OCIImage
	// Executable is this program, re-executed as each OCI container's
	// init (ContainerInit); default os.Executable().
	Executable string
	Log        *slog.Logger
	// KubeletTLS, if set, serves container logs to the API server on
	// NodeIP:KubeletPort (see ServeKubelet).
	KubeletTLS *tls.Config

	mu     sync.Mutex
	pods   map[string]*podState // by namespace/name
	ips    addresses
	queue  workqueue.TypedRateLimitingInterface[string]
	lister corelisters.PodLister
	unsch  corelisters.PodLister
	subnet *net.IPNet
}

// podState is what the agent runs for one Pod.
type podState struct {
	uid        types.UID
	key        string
	netns      string
	veth       string
	ip         string
	dir        string
	started    time.Time
	volumes    map[string]string // volume name → directory or file
	tokens     []*projectedToken
	containers map[string]*container
	// terminated is made when the Pod's termination starts (it was
	// deleted) and closed once every container has exited.
	terminated chan struct{}
}

const bindPrefix = "bind/"

// Run registers the Node and serves Pods until ctx ends; then it stops
// every Pod's processes and removes their network namespaces (the Pod
// objects stay: the cluster is going away).
func (a *Agent) Run(ctx context.Context) error {
	if a.Log == nil {
		a.Log = slog.Default()
	}
	_, sn, err := net.ParseCIDR(a.Subnet)
	if err != nil {
		return fmt.Errorf("subnet %q: %w", a.Subnet, err)
	}
	a.subnet = sn
	a.pods = map[string]*podState{}
	a.ips = addresses{used: map[string]types.UID{a.NodeIP: "node"}, released: map[string]time.Time{}}
	if err := os.MkdirAll(a.PodsDir, 0o755); err != nil {
		return err
	}
	if a.KubeletTLS != nil {
		if err := a.ServeKubelet(ctx, net.JoinHostPort(a.NodeIP, strconv.Itoa(KubeletPort)), a.KubeletTLS); err != nil {
			return fmt.Errorf("serving the kubelet API: %w", err)
		}
	}
	if err := a.registerNode(ctx); err != nil {
		return err
	}

	a.queue = workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	mine := informers.NewSharedInformerFactoryWithOptions(a.Client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.NodeName).String()
	}))
	unscheduled := informers.NewSharedInformerFactoryWithOptions(a.Client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", "").String()
	}))
	enqueue := func(prefix string) cache.ResourceEventHandler {
		add := func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				a.queue.Add(prefix + key)
			}
		}
		return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o any) { add(o) }, DeleteFunc: add}
	}
	pi := mine.Core().V1().Pods()
	if _, err := pi.Informer().AddEventHandler(enqueue("")); err != nil {
		return err
	}
	ui := unscheduled.Core().V1().Pods()
	if _, err := ui.Informer().AddEventHandler(enqueue(bindPrefix)); err != nil {
		return err
	}
	a.lister, a.unsch = pi.Lister(), ui.Lister()
	mine.Start(ctx.Done())
	unscheduled.Start(ctx.Done())
	mine.WaitForCacheSync(ctx.Done())
	unscheduled.WaitForCacheSync(ctx.Done())
	a.Log.Info("node agent running", "node", a.NodeName, "ip", a.NodeIP)

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for a.processNext(ctx) {
			}
		})
	}
	// Level-triggered: every Pod is looked at each second (readiness,
	// restarts), the Node's heartbeat every 30 s.
	tick := time.NewTicker(time.Second)
	beat := time.NewTicker(30 * time.Second)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			a.mu.Lock()
			for k := range a.pods {
				a.queue.Add(k)
			}
			a.mu.Unlock()
		case <-beat.C:
			if err := a.heartbeat(ctx); err != nil {
				a.Log.Warn("node heartbeat", "err", err)
			}
		}
	}
	tick.Stop()
	beat.Stop()
	a.queue.ShutDownWithDrain()
	wg.Wait()

	a.mu.Lock()
	all := make([]*podState, 0, len(a.pods))
	for _, p := range a.pods {
		all = append(all, p)
	}
	a.mu.Unlock()
	var stopWG sync.WaitGroup
	for _, p := range all {
		stopWG.Go(func() { a.teardown(p, 2*time.Second) })
	}
	stopWG.Wait()
	a.Log.Info("node agent stopped")
	return nil
}

func (a *Agent) processNext(ctx context.Context) bool {
	key, quit := a.queue.Get()
	if quit {
		return false
	}
	defer a.queue.Done(key)
	var err error
	var after time.Duration
	if strings.HasPrefix(key, bindPrefix) {
		err = a.bind(ctx, strings.TrimPrefix(key, bindPrefix))
	} else {
		after, err = a.sync(ctx, key)
	}
	switch {
	case err != nil:
		if ctx.Err() == nil {
			a.Log.Warn("sync", "key", key, "err", err)
		}
		a.queue.AddRateLimited(key)
	case after > 0:
		a.queue.Forget(key)
		a.queue.AddAfter(key, after)
	default:
		a.queue.Forget(key)
	}
	return true
}

// bind is the scheduler: every Pod for the default scheduler goes to this
// Node.
func (a *Agent) bind(ctx context.Context, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := a.unsch.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil ||
		(pod.Spec.SchedulerName != "" && pod.Spec.SchedulerName != corev1.DefaultSchedulerName) {
		return nil
	}
	err = a.Client.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: a.NodeName},
	}, metav1.CreateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or bound meanwhile
	}
	if err == nil {
		a.Log.Info("bound", "pod", key, "node", a.NodeName)
	}
	return err
}

func (a *Agent) registerNode(ctx context.Context) error {
	cpu := resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *cpu,
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: a.NodeName, Labels: map[string]string{
			"kubernetes.io/hostname": a.NodeName,
			"kubernetes.io/os":       runtime.GOOS,
			"kubernetes.io/arch":     runtime.GOARCH,
		}},
		Spec: corev1.NodeSpec{PodCIDR: a.Subnet, PodCIDRs: []string{a.Subnet}},
	}
	_, err := a.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("registering Node %s: %w", a.NodeName, err)
	}
	cur, err := a.Client.CoreV1().Nodes().Get(ctx, a.NodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	cur.Status.Capacity, cur.Status.Allocatable = capacity, capacity
	cur.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: a.NodeIP},
		{Type: corev1.NodeHostName, Address: a.NodeName},
	}
	cur.Status.DaemonEndpoints.KubeletEndpoint.Port = KubeletPort
	cur.Status.NodeInfo = corev1.NodeSystemInfo{
		OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH,
		KubeletVersion: "v0.0.0-certgate-node-agent", ContainerRuntimeVersion: "local-process://0",
	}
	now := metav1.Now()
	cur.Status.Conditions = []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "certgate node agent is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
	}}
	_, err = a.Client.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("writing Node %s status: %w", a.NodeName, err)
	}
	return nil
}

func (a *Agent) heartbeat(ctx context.Context) error {
	cur, err := a.Client.CoreV1().Nodes().Get(ctx, a.NodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for i := range cur.Status.Conditions {
		if cur.Status.Conditions[i].Type == corev1.NodeReady {
			cur.Status.Conditions[i].LastHeartbeatTime = metav1.Now()
		}
	}
	_, err = a.Client.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	return err
}

// apiServerForPods is the host and port of KUBERNETES_SERVICE_HOST and
// KUBERNETES_SERVICE_PORT.
func (a *Agent) apiServerForPods(ctx context.Context) (host, port string, err error) {
	if a.PodAPIServer != "" {
		return net.SplitHostPort(a.PodAPIServer)
	}
	svc, err := a.Client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("the default/kubernetes Service, for KUBERNETES_SERVICE_HOST: %w", err)
	}
	for _, p := range svc.Spec.Ports {
		if p.Name == "https" || len(svc.Spec.Ports) == 1 {
			return svc.Spec.ClusterIP, strconv.Itoa(int(p.Port)), nil
		}
	}
	return "", "", errors.New("the default/kubernetes Service has no https port")
}

func (a *Agent) image(ref string) *Image {
	for i := range a.Images {
		if a.Images[i].Matches(ref) {
			return &a.Images[i]
		}
	}
	return nil
}

// sync brings one Pod to its desired state and writes its status. It
// returns when to look again (0: on the next event or tick).
func (a *Agent) sync(ctx context.Context, key string) (time.Duration, error) {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := a.lister.Pods(ns).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return 0, err
	}
	a.mu.Lock()
	st := a.pods[key]
	a.mu.Unlock()

	if pod == nil || (st != nil && st.uid != pod.UID) {
		if st != nil {
			a.teardown(st, 5*time.Second)
		}
		if pod == nil {
			return 0, nil
		}
		st = nil
	}
	if pod.DeletionTimestamp != nil {
		return a.terminate(ctx, pod, st)
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		if st != nil {
			a.teardown(st, 0)
		}
		return 0, nil
	}

	status := pod.Status.DeepCopy()
	requeue := time.Duration(0)
	if problem := a.unsupported(pod); problem != nil {
		a.waitingStatus(pod, status, problem.reason, problem.message)
	} else {
		if st == nil {
			st = &podState{uid: pod.UID, key: key, started: time.Now(), containers: map[string]*container{},
				dir: filepath.Join(a.PodsDir, fmt.Sprintf("%s_%s_%s", ns, name, pod.UID))}
			a.mu.Lock()
			a.pods[key] = st
			a.mu.Unlock()
		}
		if err := a.run(ctx, pod, st); err != nil {
			a.waitingStatus(pod, status, "ContainerCreating", err.Error())
			requeue = 2 * time.Second
		} else {
			a.runningStatus(pod, st, status)
		}
	}
	return requeue, a.putStatus(ctx, pod, status)
}

// putStatus writes status as the Pod's, unless it already is. A Pod that
// is gone needs none.
func (a *Agent) putStatus(ctx context.Context, pod *corev1.Pod, status *corev1.PodStatus) error {
	if apiequality.Semantic.DeepEqual(&pod.Status, status) {
		return nil
	}
	upd := pod.DeepCopy()
	upd.Status = *status
	_, err := a.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("updating the status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

type problem struct{ reason, message string }

// unsupported says why a Pod cannot run here at all.
func (a *Agent) unsupported(pod *corev1.Pod) *problem {
	for _, c := range pod.Spec.Containers {
		if a.image(c.Image) == nil && a.ociImage(c.Image) == nil {
			return &problem{"ErrImageNeverPull", fmt.Sprintf(
				"container %q: image %q is not available on node %s: the local cluster's node agent runs no images "+
					"but %s (as local programs) and %s (OCI images; make image builds certgate's)",
				c.Name, c.Image, a.NodeName, a.knownImages(), a.knownOCIImages())}
		}
	}
	if len(pod.Spec.InitContainers) > 0 {
		return &problem{"CreateContainerConfigError", "init containers are not supported by the local cluster's node agent"}
	}
	if pod.Spec.HostNetwork {
		return &problem{"CreateContainerConfigError", "hostNetwork Pods are not supported by the local cluster's node agent"}
	}
	return nil
}

func (a *Agent) knownImages() string {
	var refs []string
	for _, im := range a.Images {
		for _, r := range im.Refs {
			refs = append(refs, r+":*")
		}
	}
	return strings.Join(refs, ", ")
}

func (a *Agent) knownOCIImages() string {
	var refs []string
	for _, im := range a.OCIImages {
		refs = append(refs, im.Ref()+"@"+im.Digest)
	}
	if len(refs) == 0 {
		return "none"
	}
	return strings.Join(refs, ", ")
}

// run creates the sandbox and volumes once, and starts (or restarts after
// a back-off) the containers.
func (a *Agent) run(ctx context.Context, pod *corev1.Pod, st *podState) error {
	if st.netns == "" {
		if err := a.createSandbox(pod, st); err != nil {
			return err
		}
	}
	if st.volumes == nil {
		vols, err := a.writeVolumes(ctx, pod, st)
		if err != nil {
			return err
		}
		st.volumes = vols
	}
	if err := a.refreshTokens(ctx, pod, st); err != nil {
		a.Log.Warn("refreshing service-account tokens", "pod", st.key, "err", err)
	}
	for i := range pod.Spec.Containers {
		spec := &pod.Spec.Containers[i]
		c := st.containers[spec.Name]
		if c == nil {
			c = &container{name: spec.Name, key: st.key, agent: a}
			st.containers[spec.Name] = c
		}
		c.ensure(ctx, pod, spec, st)
	}
	return nil
}

// createSandbox gives the Pod its network namespace: a veth pair from the
// bridge, an address from the subnet, and a default route via the bridge's
// address (the cluster namespace itself has no route out).
func (a *Agent) createSandbox(pod *corev1.Pod, st *podState) error {
	id := strings.ReplaceAll(string(pod.UID), "-", "")[:10]
	netns, veth := a.NetNSPrefix+id, "veth"+id
	addr, err := a.allocIP(pod.UID)
	if err != nil {
		return err
	}
	ones, _ := a.subnet.Mask.Size()
	steps := [][]string{
		{"netns", "add", netns},
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns},
		{"link", "set", veth, "master", a.Bridge, "up"},
		// Hairpin, as kubelet's hairpin-veth mode: a Pod reaching itself
		// through a Service gets its packet back through its own port
		// when br_netfilter bridges the translated packet.
		{"link", "set", veth, "type", "bridge_slave", "hairpin", "on"},
		{"-n", netns, "link", "set", "lo", "up"},
		{"-n", netns, "addr", "add", fmt.Sprintf("%s/%d", addr, ones), "dev", "eth0"},
		{"-n", netns, "link", "set", "eth0", "up"},
		{"-n", netns, "route", "add", "default", "via", a.NodeIP},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			_ = ipCmd("link", "del", veth)
			_ = ipCmd("netns", "del", netns)
			a.releaseIP(addr)
			return fmt.Errorf("creating the pod network namespace: %w", err)
		}
	}
	if err := os.MkdirAll(st.dir, 0o755); err != nil {
		return err
	}
	st.netns, st.veth, st.ip = netns, veth, addr
	a.Log.Info("sandbox", "pod", st.key, "netns", netns, "ip", addr)
	return nil
}

// teardown stops the Pod's containers (SIGTERM to each process group, then
// SIGKILL after grace) and removes its sandbox (teardownSandbox).
func (a *Agent) teardown(st *podState, grace time.Duration) {
	var wg sync.WaitGroup
	for _, c := range st.containers {
		wg.Go(func() { c.stop(grace) })
	}
	wg.Wait()
	a.teardownSandbox(st)
}

// teardownSandbox kills anything left in the Pod's network namespace,
// deletes the namespace and its veth, releases the address (see
// addresses) and removes the volumes. Its containers must have exited.
func (a *Agent) teardownSandbox(st *podState) {
	if st.netns != "" {
		for try := 0; try < 20; try++ {
			out, err := exec.Command("ip", "netns", "pids", st.netns).Output()
			if err != nil || len(strings.TrimSpace(string(out))) == 0 {
				break
			}
			for _, p := range strings.Fields(string(out)) {
				_ = exec.Command("kill", "-9", p).Run()
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = ipCmd("link", "del", st.veth)
		if err := ipCmd("netns", "del", st.netns); err != nil {
			a.Log.Warn("removing pod network namespace", "pod", st.key, "err", err)
		}
		a.releaseIP(st.ip)
	}
	_ = os.RemoveAll(filepath.Join(st.dir, "volumes"))
	a.mu.Lock()
	if a.pods[st.key] == st {
		delete(a.pods, st.key)
	}
	a.mu.Unlock()
	a.Log.Info("torn down", "pod", st.key, "netns", st.netns)
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// waitingStatus: the Pod is Pending, every container waits for reason.
func (a *Agent) waitingStatus(pod *corev1.Pod, s *corev1.PodStatus, reason, message string) {
	s.Phase = corev1.PodPending
	s.HostIP, s.HostIPs = a.NodeIP, []corev1.HostIP{{IP: a.NodeIP}}
	var cs []corev1.ContainerStatus
	for _, c := range pod.Spec.Containers {
		cs = append(cs, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}},
		})
	}
	s.ContainerStatuses = cs
	setCondition(s, corev1.PodScheduled, true, "")
	setCondition(s, corev1.PodInitialized, true, "")
	setCondition(s, corev1.ContainersReady, false, "ContainersNotReady")
	setCondition(s, corev1.PodReady, false, "ContainersNotReady")
}

func (a *Agent) runningStatus(pod *corev1.Pod, st *podState, s *corev1.PodStatus) {
	s.HostIP, s.HostIPs = a.NodeIP, []corev1.HostIP{{IP: a.NodeIP}}
	s.PodIP, s.PodIPs = st.ip, []corev1.PodIP{{IP: st.ip}}
	if s.StartTime == nil {
		t := metav1.NewTime(st.started.Truncate(time.Second))
		s.StartTime = &t
	}
	allReady, anyRunning, allDone, anyFailed := true, false, true, false
	var cs []corev1.ContainerStatus
	for _, spec := range pod.Spec.Containers {
		c := st.containers[spec.Name]
		stat := c.status(spec.Image)
		stat.ImageID = a.imageID(spec.Image)
		cs = append(cs, stat)
		allReady = allReady && stat.Ready
		anyRunning = anyRunning || stat.State.Running != nil
		allDone = allDone && stat.State.Terminated != nil
		anyFailed = anyFailed || (stat.State.Terminated != nil && stat.State.Terminated.ExitCode != 0)
	}
	s.ContainerStatuses = cs
	switch {
	case allDone && anyFailed:
		s.Phase = corev1.PodFailed
	case allDone:
		s.Phase = corev1.PodSucceeded
	case anyRunning || s.Phase == corev1.PodRunning:
		s.Phase = corev1.PodRunning
	default:
		s.Phase = corev1.PodPending
	}
	setCondition(s, corev1.PodReadyToStartContainers, true, "")
	setCondition(s, corev1.PodScheduled, true, "")
	setCondition(s, corev1.PodInitialized, true, "")
	reason := ""
	if !allReady {
		reason = "ContainersNotReady"
	}
	setCondition(s, corev1.ContainersReady, allReady, reason)
	setCondition(s, corev1.PodReady, allReady, reason)
}

// setCondition sets a condition, keeping its transition time when its
// status does not change.
func setCondition(s *corev1.PodStatus, t corev1.PodConditionType, ok bool, reason string) {
	status := corev1.ConditionFalse
	if ok {
		status = corev1.ConditionTrue
	}
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			if s.Conditions[i].Status != status {
				s.Conditions[i].LastTransitionTime = metav1.NewTime(time.Now().Truncate(time.Second))
			}
			s.Conditions[i].Status, s.Conditions[i].Reason = status, reason
			return
		}
	}
	s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: status, Reason: reason,
		LastTransitionTime: metav1.NewTime(time.Now().Truncate(time.Second))})
}
