package node

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

func (a *Agent) ociImage(ref string) *OCIImage {
	for _, im := range a.OCIImages {
		if im.Matches(ref) {
			return im
		}
	}
	return nil
}

// ociArgv is Kubernetes' rule: command replaces the image's Entrypoint
// (and drops its Cmd), args replace its Cmd; $(VAR) expands in both.
func ociArgv(img *OCIImage, spec *corev1.Container, env map[string]string) []string {
	entry, args := img.Config.Entrypoint, img.Config.Cmd
	if len(spec.Command) > 0 {
		entry, args = spec.Command, nil
	}
	if len(spec.Args) > 0 {
		args = spec.Args
	}
	var argv []string
	for i, s := range append(append([]string(nil), entry...), args...) {
		if i < len(entry) && len(spec.Command) == 0 || i >= len(entry) && len(spec.Args) == 0 {
			argv = append(argv, s) // from the image: not expanded
			continue
		}
		argv = append(argv, expandVars(s, env))
	}
	return argv
}

// imageEnv is the image's environment, which the container's overrides,
// with HOME from the image's /etc/passwd (or /) as runtimes set it.
func imageEnv(img *OCIImage) map[string]string {
	env := map[string]string{"HOME": "/"}
	uid, _, _ := imageUser(img)
	if b, err := os.ReadFile(filepath.Join(img.Rootfs, "etc", "passwd")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Split(l, ":"); len(f) > 5 && f[2] == strconv.Itoa(int(uid)) {
				env["HOME"] = f[5]
				break
			}
		}
	}
	for _, kv := range img.Config.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// ociCommand prepares one run of a container of an OCI image: the agent's
// executable re-executed (ContainerInit) in the Pod's network namespace
// and new mount and UTS namespaces, with the container's initSpec.
func (a *Agent) ociCommand(pod *corev1.Pod, spec *corev1.Container, st *podState, img *OCIImage, env map[string]string) (*exec.Cmd, *initSpec, error) {
	argv := ociArgv(img, spec, env)
	if len(argv) == 0 {
		return nil, nil, fmt.Errorf("image %s has no entrypoint and the container no command", img.Ref())
	}
	s := &initSpec{Lower: img.Rootfs, Hostname: pod.Name, Argv: argv, Env: envList(env),
		Sysctls: map[string]string{}}
	if err := a.ociUser(pod, spec, img, s); err != nil {
		return nil, nil, err
	}
	if err := a.ociFilesystem(pod, spec, st, s); err != nil {
		return nil, nil, err
	}
	s.Dir = spec.WorkingDir
	if s.Dir == "" {
		s.Dir = img.Config.WorkingDir
	}
	if s.Dir == "" {
		s.Dir = "/"
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command("nsenter", "--net=/run/netns/"+st.netns, "--", a.executable())
	cmd.Env = []string{containerInitEnv + "=" + string(raw)}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL,
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS}
	return cmd, s, nil
}

// imageID is a container status's imageID: the OCI image's digest, or the
// reference of a local program's image.
func (a *Agent) imageID(ref string) string {
	if img := a.ociImage(ref); img != nil {
		return img.Name + "@" + img.Digest
	}
	return "local://" + ref
}

func (a *Agent) executable() string {
	if a.Executable != "" {
		return a.Executable
	}
	exe, _ := os.Executable()
	return exe
}

// ociFilesystem lays out the container's overlay directories (fresh for
// each run, as a runtime creates a new container on restart) and its
// mounts: the volumeMounts, /etc/hosts and /etc/hostname.
func (a *Agent) ociFilesystem(pod *corev1.Pod, spec *corev1.Container, st *podState, s *initSpec) error {
	base := filepath.Join(st.dir, "containers", spec.Name)
	if err := os.RemoveAll(base); err != nil {
		return err
	}
	s.Upper, s.Work, s.Root = filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "rootfs")
	for _, d := range []string{s.Upper, s.Work, s.Root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	etc, err := a.podEtcFiles(pod, st)
	if err != nil {
		return err
	}
	for _, name := range []string{"hosts", "hostname"} {
		s.Mounts = append(s.Mounts, initMount{Source: filepath.Join(etc, name), Target: "/etc/" + name})
	}
	for _, vm := range spec.VolumeMounts {
		src, ok := st.volumes[vm.Name]
		if !ok {
			return fmt.Errorf("volumeMount %s: no volume of that name", vm.Name)
		}
		if vm.SubPath != "" {
			src = filepath.Join(src, filepath.Clean("/"+vm.SubPath))
		}
		s.Mounts = append(s.Mounts, initMount{Source: src, Target: vm.MountPath, ReadOnly: vm.ReadOnly})
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		for _, sc := range psc.Sysctls {
			s.Sysctls[sc.Name] = sc.Value
		}
	}
	if sc := spec.SecurityContext; sc != nil {
		s.ReadOnlyRoot = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
		s.NoNewPrivs = sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
	}
	return nil
}

// podEtcFiles writes the Pod's /etc/hosts and /etc/hostname, as kubelet
// manages them.
func (a *Agent) podEtcFiles(pod *corev1.Pod, st *podState) (string, error) {
	dir := filepath.Join(st.dir, "etc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n", st.ip, pod.Name)
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(hosts), 0o644); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "hostname"), []byte(pod.Name+"\n"), 0o644)
}

// ociUser resolves the uid, gid and groups: runAsUser/runAsGroup (the
// container's over the Pod's) over the image's User; runAsNonRoot refuses
// uid 0, as kubelet does, before anything runs.
func (a *Agent) ociUser(pod *corev1.Pod, spec *corev1.Container, img *OCIImage, s *initSpec) error {
	uid, gid, err := imageUser(img)
	if err != nil {
		return err
	}
	nonRoot := false
	apply := func(runAsUser, runAsGroup *int64, runAsNonRoot *bool) {
		if runAsUser != nil {
			uid = uint32(*runAsUser)
		}
		if runAsGroup != nil {
			gid = uint32(*runAsGroup)
		}
		if runAsNonRoot != nil {
			nonRoot = *runAsNonRoot
		}
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		apply(psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot)
		for _, g := range psc.SupplementalGroups {
			s.Groups = append(s.Groups, uint32(g))
		}
		if psc.FSGroup != nil {
			s.Groups = append(s.Groups, uint32(*psc.FSGroup))
		}
	}
	if sc := spec.SecurityContext; sc != nil {
		apply(sc.RunAsUser, sc.RunAsGroup, sc.RunAsNonRoot)
	}
	if nonRoot && uid == 0 {
		return fmt.Errorf("container %q has runAsNonRoot and image %s will run as root (uid 0)", spec.Name, img.Ref())
	}
	s.UID, s.GID = uid, gid
	s.Groups = append(s.Groups, gid)
	return nil
}

// imageUser parses the image's User: uid[:gid], or names looked up in the
// image's /etc/passwd and /etc/group. Empty is root.
func imageUser(img *OCIImage) (uid, gid uint32, err error) {
	user, group, hasGroup := strings.Cut(img.Config.User, ":")
	if user != "" {
		var pgid uint32
		if uid, pgid, err = lookupID(img.Rootfs, "etc/passwd", user, 2); err != nil {
			return 0, 0, err
		}
		gid = pgid
	}
	if hasGroup && group != "" {
		if gid, _, err = lookupID(img.Rootfs, "etc/group", group, 2); err != nil {
			return 0, 0, err
		}
	}
	return uid, gid, nil
}

// lookupID resolves a numeric id or a name in a passwd-style file: the
// field at idx, and for passwd the next (the primary gid).
func lookupID(rootfs, file, name string, idx int) (id, next uint32, err error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(n), 0, nil // a runtime's default for a numeric user is gid 0
	}
	f, err := os.Open(filepath.Join(rootfs, file))
	if err != nil {
		return 0, 0, fmt.Errorf("image user %q: %w", name, err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) > idx+1 && fields[0] == name {
			a, _ := strconv.ParseUint(fields[idx], 10, 32)
			b, _ := strconv.ParseUint(fields[idx+1], 10, 32)
			return uint32(a), uint32(b), nil
		}
		if len(fields) > idx && fields[0] == name {
			a, _ := strconv.ParseUint(fields[idx], 10, 32)
			return uint32(a), 0, nil
		}
	}
	return 0, 0, fmt.Errorf("image user or group %q is not in the image's /%s", name, file)
}
