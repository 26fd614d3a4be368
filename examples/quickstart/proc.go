package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// echoPackage is the backend: the Gateway API project's echo server, at
// the version go.mod pins (a "tool" requirement, so go mod tidy keeps it).
const echoPackage = "sigs.k8s.io/gateway-api/conformance/echo-basic"

// buildEcho builds echo-basic into dir. echo-basic listens on every
// interface (":PORT") and has no setting for the address; the demo must
// listen on 127.0.0.1 only. So the build takes echo-basic's main file from
// the pinned module, prefixes its three listen addresses with 127.0.0.1,
// and compiles that as a package of this module that exists only in a
// build overlay (the Go command refuses overlays inside the module cache).
// Its other packages come unchanged from the pinned module. The build
// fails if the pinned source no longer has exactly those three addresses.
func buildEcho(ctx context.Context, dir string) (string, error) {
	src, err := goOutput(ctx, "list", "-f", "{{.Dir}}", echoPackage)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(src, "echo-basic.go"))
	if err != nil {
		return "", err
	}
	const wildcard, loopback = `fmt.Sprintf(":%s"`, `fmt.Sprintf("127.0.0.1:%s"`
	if n := strings.Count(string(data), wildcard); n != 3 {
		return "", fmt.Errorf("%s/echo-basic.go: want 3 listen addresses to bind to 127.0.0.1, found %d", src, n)
	}
	patched := filepath.Join(dir, "echo-basic-loopback.go")
	if err := os.WriteFile(patched, []byte(strings.ReplaceAll(string(data), wildcard, loopback)), 0o644); err != nil {
		return "", err
	}
	root, err := goOutput(ctx, "list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		return "", err
	}
	virtual := filepath.Join(root, "examples", "quickstart", "echobasic-loopback")
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(virtual, "main.go"): patched}})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "echo-basic")
	_, err = goOutput(ctx, "build", "-overlay", overlayFile, "-o", bin, virtual)
	return bin, err
}

// buildCertgate builds the certgate binary of this checkout into dir.
func buildCertgate(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "certgate")
	_, err := goOutput(ctx, "build", "-o", bin, "github.com/certgate/certgate/cmd/certgate")
	return bin, err
}

// goOutput runs the go command and returns its standard output. Standard
// error is kept apart: on a machine whose module cache is still empty it
// carries "go: downloading ..." lines, which are not part of the answer.
func goOutput(ctx context.Context, args ...string) (string, error) {
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// process is a child started in its own process group, so stopping it
// stops everything it started too.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs bin with env added to the environment, copying its output
// to out with each line prefixed by name.
func start(name, bin string, args, env []string, out io.Writer) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	// Own process group, and killed if the demo itself dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintf(out, "  %-8s| %s\n", name, sc.Text())
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM to the process group, and SIGKILL if it has not
// ended after grace. It returns once the process has exited.
func (p *process) stop(grace time.Duration) {
	pgid := -p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-p.done
	}
	// Anything the process left behind in its group goes too.
	_ = syscall.Kill(pgid, syscall.SIGKILL)
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitFor calls ready every 50ms until it returns nil, p exits, ctx
// ends, or timeout passes.
func waitFor(ctx context.Context, p *process, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p.exited() {
			return fmt.Errorf("%s exited: %w", p.name, err)
		}
		if time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("%s not ready after %s", p.name, timeout), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
