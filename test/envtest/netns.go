// Package envtest runs controller tests against a real kube-apiserver and etcd
// (built by `make kube-binaries` from the Go modules pinned in tools/kube),
// inside a private network namespace that the test binary creates for itself.
//
// A test package that uses it re-executes itself in the namespace from
// TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(envtest.RunInNetNS(m)) }
//
// and starts a control plane in a test:
//
//	env := envtest.Start(t)
//	err := env.Client.Create(ctx, &gatewayv1.Gateway{...})
//
// Network rule: the namespace holds only the loopback interface, with
// 127.0.0.1/8, ::1 and one extra non-loopback address (TestAddress) for
// backends that must be published in EndpointSlices, which refuse loopback
// addresses. It has no routes out, so no test packet can leave the machine.
package envtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/certgate/certgate/internal/reexec"
)

// netnsEnv marks a test binary re-executed in its private network namespace.
// Its value is the parent's network namespace ("net:[inode]"), so the child
// can prove it really is somewhere else.
const netnsEnv = "CERTGATE_TEST_NETNS"

// testAddress is added to lo inside the namespace. 10.203.0.0/16 is private
// address space; the address exists only inside the namespace the test
// created, which has no route anywhere else.
const testAddress = "10.203.0.1"

// TestAddress returns the non-loopback IPv4 address that exists on lo inside
// the test's network namespace. Backends that must appear in EndpointSlices
// (which refuse loopback addresses) listen on it. It is valid only in a
// process started through RunInNetNS.
func TestAddress() string { return testAddress }

// InNetNS reports whether this process runs in the private network namespace
// that RunInNetNS created.
func InNetNS() bool {
	parent := os.Getenv(netnsEnv)
	if parent == "" {
		return false
	}
	self, err := os.Readlink("/proc/self/ns/net")
	return err == nil && self != parent
}

// RunInNetNS is for TestMain. Outside the namespace it re-executes the test
// binary, with the same arguments, in a new network namespace
// (clone(CLONE_NEWNET), what `unshare --net` does) and returns the child's
// exit code without running any test itself. Inside, it brings up lo, adds
// TestAddress to it, and runs the tests.
//
// It needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's `ip`. If the
// namespace cannot be created it fails the whole test binary with a message:
// tests never run outside the namespace.
func RunInNetNS(m *testing.M) int {
	if os.Getenv(netnsEnv) == "" {
		code, err := reexecInNetNS()
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: envtest: %v\n", err)
			return 1
		}
		return code
	}
	if !InNetNS() {
		fmt.Fprintf(os.Stderr, "FAIL: envtest: %s is set but this process is still in the parent's network "+
			"namespace (%s); refusing to run tests outside a private namespace\n", netnsEnv, os.Getenv(netnsEnv))
		return 1
	}
	if err := setupNetNS(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: envtest: setting up the test network namespace: %v\n", err)
		return 1
	}
	return m.Run()
}

func reexecInNetNS() (int, error) {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return 0, fmt.Errorf("cannot read this process's network namespace (/proc/self/ns/net): %w; "+
			"these tests need Linux network namespaces", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("finding the test binary to re-execute: %w", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return 0, errors.New("`ip` not found: these tests configure their private network namespace with " +
			"iproute2; install it (apt-get install -y iproute2)")
	}

	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), netnsEnv+"="+self)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	code, err := reexec.Run(cmd, "test binary in the network namespace")
	switch {
	case errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES):
		return 0, fmt.Errorf("cannot create a private network namespace (%v): these tests must run as root "+
			"(CAP_SYS_ADMIN, CAP_NET_ADMIN), as CI does; they never run outside their own namespace", err)
	case err != nil:
		return 0, fmt.Errorf("re-executing the test binary in a new network namespace: %w", err)
	}
	return code, nil
}

// setupNetNS brings up lo and adds TestAddress to it. It is idempotent, so
// processes that re-execute the test binary again inside the namespace (fuzz
// workers, helper processes) pass through it.
func setupNetNS() error {
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "replace", testAddress + "/32", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
