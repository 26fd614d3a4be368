package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probe runs one run's probes as kubelet's probe workers do: the startup
// probe first (its failure threshold kills the container); once it passed,
// liveness (its failure threshold kills the container, which then restarts
// by the Pod's restartPolicy) and readiness (which sets Ready, and so the
// Pod's EndpointSlice entries). It ends with the run (ctx).
func (c *container) probe(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, st *podState, l *launch) {
	a := c.agent
	check := func(p *corev1.Probe) func(context.Context) error {
		return func(ctx context.Context) error { return a.check(ctx, p, spec, st, l) }
	}
	if p := spec.StartupProbe; p != nil {
		passed := false
		watch(ctx, p, check(p), func(ok bool, err error) bool {
			if ok {
				passed = true
				c.set(func() { c.started = true })
			} else {
				c.kill(pod, p, "startup probe failed: "+err.Error())
			}
			return true
		})
		if !passed {
			return
		}
	}
	if p := spec.LivenessProbe; p != nil {
		go watch(ctx, p, check(p), func(ok bool, err error) bool {
			if !ok {
				c.kill(pod, p, "liveness probe failed: "+err.Error())
			}
			return !ok
		})
	}
	p, chk := spec.ReadinessProbe, check(spec.ReadinessProbe)
	if p == nil && l.oci {
		c.set(func() { c.ready = true })
		return
	}
	if p == nil {
		// A local program's image without a readiness probe is ready when
		// its ports accept connections (the conformance manifests declare
		// no probes, and echo-basic needs a moment to listen).
		p = &corev1.Probe{PeriodSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1}
		chk = func(ctx context.Context) error { return a.portsOpen(ctx, spec, st) }
	}
	watch(ctx, p, chk, func(ok bool, _ error) bool {
		c.set(func() { c.ready = ok })
		return false
	})
}

// set changes the container's state under its lock and has the Pod's
// status written.
func (c *container) set(f func()) {
	c.mu.Lock()
	f()
	c.mu.Unlock()
	c.agent.queue.Add(c.key)
}

// kill stops the running process for a failed probe: SIGTERM to its
// process group, SIGKILL after the grace period (the probe's, else the
// Pod's). Its exit is then recorded with msg.
func (c *container) kill(pod *corev1.Pod, p *corev1.Probe, msg string) {
	grace := int64(30)
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	if g := p.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	if cmd != nil {
		c.killMsg, c.ready = msg, false
	}
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	c.agent.Log.Info("killing", "pod", c.key, "container", c.name, "reason", msg)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(time.Duration(grace) * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// watch runs check every period after the initial delay, each within the
// timeout, and calls on when a run of successes reaches the success
// threshold or a run of failures the failure threshold; it returns when on
// returns true or ctx ends. Zero fields take the API's defaults.
func watch(ctx context.Context, p *corev1.Probe, check func(context.Context) error, on func(ok bool, err error) bool) {
	secs := func(v, def int32) time.Duration {
		if v <= 0 {
			v = def
		}
		return time.Duration(v) * time.Second
	}
	succ, fail := max(p.SuccessThreshold, 1), p.FailureThreshold
	if fail <= 0 {
		fail = 3
	}
	if !sleep(ctx, secs(p.InitialDelaySeconds, 0)) {
		return
	}
	var oks, fails int32
	for {
		cctx, cancel := context.WithTimeout(ctx, secs(p.TimeoutSeconds, 1))
		err := check(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			oks, fails = oks+1, 0
		} else {
			oks, fails = 0, fails+1
		}
		if (oks == succ && on(true, nil)) || (fails == fail && on(false, err)) {
			return
		}
		if !sleep(ctx, secs(p.PeriodSeconds, 10)) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// check runs one probe: httpGet, tcpSocket or exec.
func (a *Agent) check(ctx context.Context, p *corev1.Probe, spec *corev1.Container, st *podState, l *launch) error {
	switch {
	case p.HTTPGet != nil:
		return httpCheck(ctx, p.HTTPGet, spec, st.ip)
	case p.TCPSocket != nil:
		host := st.ip
		if p.TCPSocket.Host != "" {
			host = p.TCPSocket.Host
		}
		return dialCheck(ctx, host, resolvePort(p.TCPSocket.Port, spec))
	case p.Exec != nil:
		return execCheck(ctx, p.Exec.Command, st, l)
	case p.GRPC != nil:
		return errors.New("gRPC probes are not supported by the local cluster's node agent")
	}
	return errors.New("the probe has no handler")
}

func resolvePort(p intstr.IntOrString, spec *corev1.Container) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range spec.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return 0
}

func dialCheck(ctx context.Context, host string, port int32) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		return err
	}
	return conn.Close()
}

// httpCheck succeeds on a status from 200 to 399; redirects are not
// followed (a 3xx is a success, as for kubelet when it leaves the host).
func httpCheck(ctx context.Context, g *corev1.HTTPGetAction, spec *corev1.Container, podIP string) error {
	host := podIP
	if g.Host != "" {
		host = g.Host
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(int(resolvePort(g.Port, spec)))), g.Path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/certgate-node-agent")
	for _, h := range g.HTTPHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	hc := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: insecureTLS(), DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// execCheck runs the command in the container: for an OCI image, in its
// mount, UTS and network namespaces, root and working directory, as its
// user; for a local program, in the Pod's network namespace.
func execCheck(ctx context.Context, command []string, st *podState, l *launch) error {
	if len(command) == 0 {
		return errors.New("exec probe without a command")
	}
	args := []string{"--net=/run/netns/" + st.netns}
	if l.oci {
		pid := strconv.Itoa(l.cmd.Process.Pid)
		args = []string{"-t", pid, "-m", "-u", "-n", "-r", "-w",
			"-S", strconv.Itoa(int(l.uid)), "-G", strconv.Itoa(int(l.gid))}
	}
	cmd := exec.CommandContext(ctx, "nsenter", append(append(args, "--"), command...)...)
	cmd.Env = l.env
	cmd.Dir = filepath.Join(st.dir, "root")
	if l.oci {
		cmd.Dir = "/"
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("exec %v: %v: %s", command, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// portsOpen: every declared TCP port, or the image's default ports, accepts
// a connection on the Pod's address.
func (a *Agent) portsOpen(ctx context.Context, spec *corev1.Container, st *podState) error {
	var ports []int32
	for _, cp := range spec.Ports {
		if cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP {
			ports = append(ports, cp.ContainerPort)
		}
	}
	if len(ports) == 0 {
		env := map[string]string{}
		for _, e := range spec.Env {
			env[e.Name] = e.Value
		}
		ports = a.image(spec.Image).DefaultPorts(env)
	}
	for _, p := range ports {
		if err := dialCheck(ctx, st.ip, p); err != nil {
			return err
		}
	}
	return nil
}
