//go:build conformance

package readme_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shell is one bash process the README's commands are typed into, one at
// a time, as into a terminal: a variable one command sets is there for the
// next. Each command's output (stdout and stderr) and exit status are read
// back before the next is sent.
type shell struct {
	stdin io.WriteCloser
	lines chan string
	mark  string // ends each command's output, with its exit status
}

// startShell starts bash in dir with env; the test's cleanup ends it and
// every process it started (its own process group).
func startShell(t *testing.T, dir string, env []string) *shell {
	t.Helper()
	cmd := exec.Command("bash", "--norc", "--noprofile")
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	s := &shell{stdin: stdin, lines: make(chan string, 256), mark: "--- end of command " + nonce(t)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		_ = r.Close()
	})
	return s
}

func nonce(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// run types command and returns what it printed and its exit status. The
// command reads no input (a newcomer's commands read none), and a trailing
// comment is harmless: the closing brace is on a line of its own.
func (s *shell) run(command string, timeout time.Duration) (out string, status int, err error) {
	if _, err := fmt.Fprintf(s.stdin, "{ %s\n} </dev/null 2>&1\nprintf '\\n%s %%d\\n' $?\n", command, s.mark); err != nil {
		return "", 0, err
	}
	var b strings.Builder
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return b.String(), 0, fmt.Errorf("the shell exited; it printed:\n%s", b.String())
			}
			if rest, found := strings.CutPrefix(l, s.mark+" "); found {
				status, err := strconv.Atoi(rest)
				// The mark's own leading newline ends the output.
				return strings.TrimSuffix(b.String(), "\n"), status, err
			}
			b.WriteString(l + "\n")
		case <-deadline:
			return b.String(), 0, fmt.Errorf("still running after %v; it printed:\n%s", timeout, b.String())
		}
	}
}
