package node

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// containerInitEnv carries an initSpec to the node agent's own executable,
// re-executed as a container's first process (see ContainerInit).
const containerInitEnv = "CERTGATE_NODE_CONTAINER_INIT"

// initSpec is what a container of an OCI image needs set up inside its new
// mount and UTS namespaces before its entrypoint runs.
type initSpec struct {
	// Lower is the image's shared read-only rootfs; Upper and Work the
	// container's overlay directories; Root the mount point of the overlay.
	Lower, Upper, Work, Root string
	ReadOnlyRoot             bool
	Hostname                 string
	Mounts                   []initMount
	// Sysctls are written in the Pod's network namespace (net.* only).
	Sysctls    map[string]string
	UID, GID   uint32
	Groups     []uint32
	NoNewPrivs bool
	Dir        string
	Argv, Env  []string
}

// initMount is a bind mount of a host path (a volume's directory or file)
// at Target inside the container.
type initMount struct {
	Source, Target string
	ReadOnly       bool
}

// ContainerInit must run first in the node agent's executable (cluster.Main
// calls it): when the process is a container's init, it sets the container
// up and executes its entrypoint, never returning; otherwise it returns.
func ContainerInit() {
	raw := os.Getenv(containerInitEnv)
	if raw == "" {
		return
	}
	var s initSpec
	err := json.Unmarshal([]byte(raw), &s)
	if err == nil {
		err = s.run()
	}
	fmt.Fprintln(os.Stderr, "container init:", err)
	os.Exit(127)
}

// run is the order of a container runtime: private mounts, the overlay
// root, /proc and /dev, volumes, read-only root, sysctls, hostname, chroot,
// credentials, exec. The mounts live in this process's mount namespace and
// vanish with it.
func (s *initSpec) run() error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", s.Lower, s.Upper, s.Work)
	if err := syscall.Mount("overlay", s.Root, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mounting the root overlay on %s: %w", s.Root, err)
	}
	steps := []func() error{s.mountProcDev, s.mountVolumes, s.readOnlyRoot, s.writeSysctls}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	if err := syscall.Sethostname([]byte(s.Hostname)); err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	if err := syscall.Chroot(s.Root); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return s.exec()
}

func (s *initSpec) mountProcDev() error {
	inRoot := func(p string) string { return filepath.Join(s.Root, p) }
	for _, d := range []string{"proc", "dev", "sys"} {
		if err := os.MkdirAll(inRoot(d), 0o755); err != nil {
			return err
		}
	}
	if err := syscall.Mount("proc", inRoot("proc"), "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	if err := syscall.Mount("tmpfs", inRoot("dev"), "tmpfs", syscall.MS_NOSUID, "mode=755,size=64k"); err != nil {
		return fmt.Errorf("mounting /dev: %w", err)
	}
	for _, d := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		if err := bindFile("/dev/"+d, inRoot("dev/"+d), false); err != nil {
			return fmt.Errorf("/dev/%s: %w", d, err)
		}
	}
	return os.MkdirAll(inRoot("dev/shm"), 0o1777)
}

func (s *initSpec) mountVolumes() error {
	for _, m := range s.Mounts {
		target := filepath.Join(s.Root, filepath.Clean("/"+m.Target))
		if err := bindFile(m.Source, target, m.ReadOnly); err != nil {
			return fmt.Errorf("mounting %s at %s: %w", m.Source, m.Target, err)
		}
	}
	return nil
}

// bindFile bind-mounts source (file or directory) at target, creating the
// mount point.
func bindFile(source, target string, readOnly bool) error {
	fi, err := os.Stat(source)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		err = os.MkdirAll(target, 0o755)
	} else if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
		var f *os.File
		if f, err = os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o644); err == nil {
			err = f.Close()
		}
	}
	if err != nil {
		return err
	}
	if err := syscall.Mount(source, target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return err
	}
	if !readOnly {
		return nil
	}
	return syscall.Mount("", target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
}

func (s *initSpec) readOnlyRoot() error {
	if !s.ReadOnlyRoot {
		return nil
	}
	if err := syscall.Mount("", s.Root, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("read-only root: %w", err)
	}
	return nil
}

// writeSysctls sets the Pod's namespaced sysctls; this process is in the
// Pod's network namespace, so /proc/sys/net is the Pod's.
func (s *initSpec) writeSysctls() error {
	for k, v := range s.Sysctls {
		if !strings.HasPrefix(k, "net.") || strings.Contains(k, "..") {
			return fmt.Errorf("sysctl %s: only net.* sysctls are namespaced here", k)
		}
		p := filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			return fmt.Errorf("sysctl %s: %w", k, err)
		}
	}
	return nil
}

// exec drops to the container's user and runs its entrypoint.
func (s *initSpec) exec() error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil && !os.IsExist(err) {
		return fmt.Errorf("working directory %s: %w", s.Dir, err)
	}
	if err := syscall.Chdir(s.Dir); err != nil {
		return fmt.Errorf("working directory %s: %w", s.Dir, err)
	}
	bin, err := lookPath(s.Argv[0], s.Env)
	if err != nil {
		return err
	}
	groups := make([]int, len(s.Groups))
	for i, g := range s.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(int(s.GID)); err != nil {
		return fmt.Errorf("setgid %d: %w", s.GID, err)
	}
	if err := syscall.Setuid(int(s.UID)); err != nil {
		return fmt.Errorf("setuid %d: %w", s.UID, err)
	}
	if s.NoNewPrivs {
		const prSetNoNewPrivs = 38
		if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0); e != 0 {
			return fmt.Errorf("no_new_privs: %w", e)
		}
	}
	return fmt.Errorf("exec %s: %w", bin, syscall.Exec(bin, s.Argv, s.Env))
}

// lookPath finds name in the container's PATH, inside the new root.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	dirs := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	for _, d := range filepath.SplitList(dirs) {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("executable %q not found in the image's PATH %s", name, dirs)
}
