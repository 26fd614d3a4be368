// Package reexec runs a child that stands in for its parent: the test
// binary re-executed inside a network namespace, for example. The child
// must never outlive the parent (a killed go test must not leave it
// running), and must see the signals the parent gets (go test sends SIGQUIT
// on timeout, so the child can dump its goroutines).
package reexec

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
)

// Run starts cmd, which dies with this process, forwards SIGINT, SIGTERM
// and SIGQUIT to it, and waits. It returns the child's exit code, or 128
// plus the signal number when a signal killed it (saying so on standard
// error, naming the child as name). An error means the child could not be
// started or waited for; a start error is returned as it is, so callers
// can explain it.
func Run(cmd *exec.Cmd, name string) (int, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	// Pdeathsig fires when the forking thread exits: keep this goroutine on
	// its thread until the child is done.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return 0, err
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	signal.Stop(sigs)
	close(done)

	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			fmt.Fprintf(os.Stderr, "%s: killed by %v\n", name, ws.Signal())
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	default:
		return 0, fmt.Errorf("waiting for %s: %w", name, err)
	}
}
