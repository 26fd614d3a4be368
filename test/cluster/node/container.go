package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// container is one container of a Pod: a local process in the Pod's
// network namespace, in its own process group.
type container struct {
	name  string
	key   string
	agent *Agent

	mu        sync.Mutex
	cmd       *exec.Cmd
	launch    *launch // the running process's, for exec hooks
	done      chan struct{}
	startedAt time.Time
	restarts  int32
	last      *corev1.ContainerStateTerminated // the previous run's end
	exited    *corev1.ContainerStateTerminated // set while not running after a run
	nextStart time.Time
	waiting   *corev1.ContainerStateWaiting
	ready     bool
	started   bool   // the startup probe passed (or there is none)
	killMsg   string // why the agent killed the running process, if it did
	stopped   bool
}

// ensure starts the process if it is not running and may (re)start now.
// Probes run on their own while it runs (probes.go).
func (c *container) ensure(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, st *podState) {
	c.mu.Lock()
	running := c.cmd != nil
	canStart := !running && !c.stopped && time.Now().After(c.nextStart)
	if canStart && c.exited != nil {
		switch pod.Spec.RestartPolicy {
		case corev1.RestartPolicyNever:
			canStart = false
		case corev1.RestartPolicyOnFailure:
			canStart = c.exited.ExitCode != 0
		}
	}
	c.mu.Unlock()
	if !canStart {
		return
	}
	if err := c.start(ctx, pod, spec, st); err != nil {
		c.mu.Lock()
		c.waiting = &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: err.Error()}
		c.nextStart = time.Now().Add(5 * time.Second)
		c.mu.Unlock()
		c.agent.Log.Warn("container start", "pod", c.key, "container", c.name, "err", err)
	}
}

// launch is one run of a container, prepared.
type launch struct {
	cmd  *exec.Cmd
	argv []string // what the container runs, for the log
	env  []string // the container's environment, for exec probes
	oci  bool     // the process is chrooted into an image's filesystem
	uid  uint32
	gid  uint32
}

// command prepares a run: in an OCI image's filesystem, or a local program.
func (a *Agent) command(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, st *podState) (*launch, error) {
	if img := a.ociImage(spec.Image); img != nil {
		env, err := a.environment(ctx, pod, spec, st, imageEnv(img))
		if err != nil {
			return nil, err
		}
		cmd, s, err := a.ociCommand(pod, spec, st, img, env)
		if err != nil {
			return nil, err
		}
		return &launch{cmd: cmd, argv: s.Argv, env: s.Env, oci: true, uid: s.UID, gid: s.GID}, nil
	}
	return a.localCommand(ctx, pod, spec, st)
}

// localCommand runs an Image's local program in the Pod's network
// namespace, its volumeMounts rewritten to the volumes' directories.
func (a *Agent) localCommand(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, st *podState) (*launch, error) {
	img := a.image(spec.Image)
	env, err := a.environment(ctx, pod, spec, st, map[string]string{
		"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME": filepath.Join(st.dir, "root"),
	})
	if err != nil {
		return nil, err
	}
	rewrite := mountRewriter(spec, st)
	expand := func(s string) string { return rewrite(expandVars(s, env)) }

	argv := []string{img.Binary}
	if len(spec.Command) > 0 {
		known := false
		for _, e := range img.Entrypoints {
			known = known || spec.Command[0] == e
		}
		if !known {
			return nil, fmt.Errorf("command %q is not available: image %s is the local program %s, whose entrypoint is %v",
				spec.Command[0], spec.Image, img.Binary, img.Entrypoints)
		}
		for _, s := range spec.Command[1:] {
			argv = append(argv, expand(s))
		}
	}
	for _, s := range spec.Args {
		argv = append(argv, expand(s))
	}
	for k, v := range env {
		env[k] = rewrite(v)
	}
	dir := filepath.Join(st.dir, "root")
	if spec.WorkingDir != "" {
		dir = rewrite(spec.WorkingDir)
		if dir == spec.WorkingDir {
			dir = filepath.Join(st.dir, "root", spec.WorkingDir)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command("nsenter", append([]string{"--net=/run/netns/" + st.netns, "--"}, argv...)...)
	cmd.Env = envList(env)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return &launch{cmd: cmd, argv: argv, env: cmd.Env}, nil
}

func (c *container) start(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, st *podState) error {
	a := c.agent
	l, err := a.command(ctx, pod, spec, st)
	if err != nil {
		return err
	}
	cmd := l.cmd
	if err := c.startLogged(cmd, st); err != nil {
		return fmt.Errorf("starting %s: %w", l.argv[0], err)
	}
	probeCtx, cancelProbes := context.WithCancel(context.Background())
	c.mu.Lock()
	c.cmd, c.done, c.launch = cmd, make(chan struct{}), l
	if c.exited != nil {
		c.restarts++
		c.last = c.exited
	}
	c.exited, c.waiting, c.ready, c.started, c.killMsg = nil, nil, false, spec.StartupProbe == nil, ""
	c.startedAt = time.Now()
	done := c.done
	c.mu.Unlock()
	a.Log.Info("started", "pod", c.key, "container", c.name, "pid", cmd.Process.Pid, "argv", l.argv, "oci", l.oci)
	go c.probe(probeCtx, pod, spec.DeepCopy(), st, l)
	go c.wait(cmd, done, st, cancelProbes)
	return nil
}

// startLogged starts cmd with its stdout and stderr copied, line by line,
// into the container's log file.
func (c *container) startLogged(cmd *exec.Cmd, st *podState) error {
	logf, err := os.OpenFile(filepath.Join(st.dir, c.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	lw := &logWriter{f: logf}
	var copies sync.WaitGroup
	stdout, err := lw.pipe("stdout", &copies)
	if err != nil {
		_ = logf.Close()
		return err
	}
	stderr, err := lw.pipe("stderr", &copies)
	if err != nil {
		_ = stdout.Close()
		_ = logf.Close()
		return err
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Start()
	// The child holds the write ends now; the copies end when it exits.
	_ = stdout.Close()
	_ = stderr.Close()
	go func() {
		copies.Wait()
		_ = logf.Close()
	}()
	return err
}

// wait records the run's end and schedules the next after a back-off.
func (c *container) wait(cmd *exec.Cmd, done chan struct{}, st *podState, cancelProbes context.CancelFunc) {
	a := c.agent
	err := cmd.Wait()
	cancelProbes()
	code := int32(0)
	reason := "Completed"
	msg := ""
	if err != nil {
		reason, msg = "Error", err.Error()
		code = 1
		if ee, ok := err.(*exec.ExitError); ok {
			code = int32(ee.ExitCode())
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int32(ws.Signal())
			}
		}
	}
	now := time.Now()
	c.mu.Lock()
	if c.killMsg != "" {
		msg = c.killMsg
	}
	ran := now.Sub(c.startedAt)
	c.exited = &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg,
		StartedAt: metav1.NewTime(c.startedAt.Truncate(time.Second)), FinishedAt: metav1.NewTime(now.Truncate(time.Second)),
		ContainerID: containerID(cmd)}
	c.cmd, c.launch, c.ready, c.started = nil, nil, false, false
	// Back-off: 1 s doubling to 30 s, reset after 30 s of running.
	backoff := time.Second << min(c.restarts, 5)
	if ran > 30*time.Second {
		backoff = time.Second
	}
	backoff = min(backoff, 30*time.Second)
	c.nextStart = now.Add(backoff)
	stopped := c.stopped
	if !stopped {
		c.waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %v restarting failed container %s; log: %s", backoff, c.name,
				filepath.Join(st.dir, c.name+".log"))}
	}
	c.mu.Unlock()
	close(done)
	a.Log.Info("exited", "pod", c.key, "container", c.name, "code", code, "err", err, "message", msg)
	if !stopped {
		a.queue.Add(c.key)
	}
}

func containerID(cmd *exec.Cmd) string {
	if cmd == nil || cmd.Process == nil {
		return ""
	}
	return "local://" + strconv.Itoa(cmd.Process.Pid)
}

// hold keeps the container from being started again: its Pod is being
// stopped.
func (c *container) hold() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
}

// running is the running process's launch, or nil.
func (c *container) running() *launch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.launch
}

// stop ends the process: SIGTERM to its process group, SIGKILL after grace.
func (c *container) stop(grace time.Duration) {
	c.mu.Lock()
	c.stopped = true
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-done
}

func (c *container) status(image string) corev1.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := corev1.ContainerStatus{Name: c.name, Image: image, ImageID: "local://" + image, RestartCount: c.restarts, Ready: c.ready && c.cmd != nil}
	if c.last != nil {
		s.LastTerminationState.Terminated = c.last
	}
	switch {
	case c.cmd != nil:
		s.ContainerID = containerID(c.cmd)
		s.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.startedAt.Truncate(time.Second))}
		started := c.started
		s.Started = &started
	case c.waiting != nil && c.exited != nil:
		s.State.Waiting = c.waiting
		s.LastTerminationState.Terminated = c.exited
		s.ContainerID = c.exited.ContainerID
	case c.exited != nil:
		s.State.Terminated = c.exited
		s.ContainerID = c.exited.ContainerID
	case c.waiting != nil:
		s.State.Waiting = c.waiting
	default:
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	}
	if s.Started == nil {
		f := false
		s.Started = &f
	}
	return s
}

// mountRewriter maps a container's volumeMount paths to the volumes'
// directories: a string that is a mount path, or has one as a path prefix
// after the start, "=", ":", "," or a space, is rewritten.
func mountRewriter(spec *corev1.Container, st *podState) func(string) string {
	type m struct{ from, to string }
	var ms []m
	for _, vm := range spec.VolumeMounts {
		dir, ok := st.volumes[vm.Name]
		if !ok {
			continue
		}
		if vm.SubPath != "" {
			dir = filepath.Join(dir, vm.SubPath)
		}
		ms = append(ms, m{strings.TrimRight(vm.MountPath, "/"), dir})
	}
	sort.Slice(ms, func(i, j int) bool { return len(ms[i].from) > len(ms[j].from) })
	return func(s string) string {
		for _, x := range ms {
			if x.from == "" {
				continue
			}
			var b strings.Builder
			for i := 0; i < len(s); {
				j := strings.Index(s[i:], x.from)
				if j < 0 {
					b.WriteString(s[i:])
					break
				}
				j += i
				end := j + len(x.from)
				before := j == 0 || strings.ContainsRune("=:, ", rune(s[j-1]))
				after := end == len(s) || s[end] == '/'
				b.WriteString(s[i:j])
				if before && after {
					b.WriteString(x.to)
				} else {
					b.WriteString(x.from)
				}
				i = end
			}
			s = b.String()
		}
		return s
	}
}

// expandVars expands $(VAR) references as Kubernetes does; $$ escapes.
func expandVars(s string, env map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			if end := strings.IndexByte(s[i+2:], ')'); end >= 0 {
				name := s[i+2 : i+2+end]
				if v, ok := env[name]; ok {
					b.WriteString(v)
				} else {
					b.WriteString(s[i : i+3+end])
				}
				i += 2 + end
			} else {
				b.WriteByte('$')
			}
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
