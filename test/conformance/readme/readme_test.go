//go:build conformance

package readme_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/test/cluster"
)

// pinPlaceholder is where the README's policy takes the pin `certgate pin`
// printed.
const pinPlaceholder = "<the sha256 pin certgate pin printed>"

// run is one pass through the README's section.
type run struct {
	t  *testing.T
	c  *cluster.Config
	w  *workdir
	sh *shell
	// substitutions are the only changes made to the README's text, each
	// used at least once: the CRDs' URL becomes the same file assembled
	// from the pinned module (no traffic leaves the machine), and the pin
	// placeholder the pin `certgate pin client.crt` printed.
	substitutions map[string]string
	used          map[string]bool
	steps         []*step
	matched       map[*step]string
	// address is the Gateway's load-balancer address, as the README shows it.
	address string
	// rejected counts the answers 403 to the client without a certificate.
	rejected int
}

// TestInstallOnACluster runs every command of the README's "Install on a
// cluster", in order, in one shell, on an empty cluster: each must
// succeed, and those the README says something about must show it (see
// readmeSteps): the policy accepted, the Gateway's load-balancer address,
// 403 without the pinned certificate and 200 with it, the rejection
// counted in the metrics, the Deployment, the Gateway's Service and the
// CRD gone after the uninstall.
func TestInstallOnACluster(t *testing.T) {
	c := cluster.Current(t)
	blocks, err := installSection(c.RepoRoot)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorkdir(t, c)
	r := &run{t: t, c: c, w: w, sh: startShell(t, w.dir, w.env(c)),
		substitutions: map[string]string{crdURL: crdFile}, used: map[string]bool{}, matched: map[*step]string{}}
	r.steps = readmeSteps()
	start := time.Now()
	for _, b := range blocks {
		if b.lang == "yaml" {
			r.writeFile(b)
			continue
		}
		for _, command := range b.commands {
			r.runCommand(command)
		}
	}
	t.Logf("the README's section ran in %v", time.Since(start).Round(100*time.Millisecond))
	for _, s := range r.steps {
		if r.matched[s] == "" {
			t.Errorf("no README command contains %q (and none of %q): the README and the test disagree", s.has, s.hasNot)
		}
	}
	for from := range r.substitutions {
		if !r.used[from] {
			t.Errorf("the README no longer contains %q, which the test substitutes", from)
		}
	}
}

// substitute applies the substitutions to a README text.
func (r *run) substitute(text string) string {
	for from, to := range r.substitutions {
		if strings.Contains(text, from) {
			r.used[from] = true
			text = strings.ReplaceAll(text, from, to)
		}
	}
	return text
}

// writeFile writes a YAML block where the README says to save it.
func (r *run) writeFile(b block) {
	text := r.substitute(b.text)
	if strings.Contains(text, "<") {
		r.t.Fatalf("%s still holds a placeholder after the substitutions:\n%s", b.file, text)
	}
	must(r.t, os.WriteFile(filepath.Join(r.w.dir, b.file), []byte(text), 0o644))
	r.t.Logf("wrote %s (%d bytes) from the README", b.file, len(text))
}

// runCommand runs one README command and its step's checks, if it has
// one; without, it must only succeed.
func (r *run) runCommand(command string) {
	t := r.t
	s := r.stepFor(command)
	cmd := r.substitute(command)
	deadline := time.Now().Add(observeFor)
	for attempt := 1; ; attempt++ {
		began := time.Now()
		out, status, err := r.sh.run(cmd, commandTimeout)
		if err != nil {
			t.Fatalf("$ %s\n%v", cmd, err)
		}
		t.Logf("$ %s   (%v)\n%s", cmd, time.Since(began).Round(10*time.Millisecond), indent(out))
		err = s.check(r, out, status)
		if err == nil {
			if attempt > 1 {
				t.Logf("(as expected on attempt %d)", attempt)
			}
			return
		}
		var f final
		if s == nil || !s.observe || errors.As(err, &f) || time.Now().After(deadline) {
			t.Fatalf("$ %s\nexit status %d: %v", cmd, status, err)
		}
		time.Sleep(time.Second)
	}
}

const (
	// commandTimeout bounds one command (rollout status, kubectl wait).
	commandTimeout = 3 * time.Minute
	// observeFor is how long an observing command is re-run, as a user
	// re-runs it, until it shows what the README says.
	observeFor = 90 * time.Second
)

// stepFor is the step that checks command, nil if none does; two steps
// for one command, or two commands for one step, are a test bug.
func (r *run) stepFor(command string) *step {
	var found *step
	for _, s := range r.steps {
		if !strings.Contains(command, s.has) || (s.hasNot != "" && strings.Contains(command, s.hasNot)) {
			continue
		}
		if found != nil || r.matched[s] != "" {
			r.t.Fatalf("the README command %q matches more than one step, or step %q more than one command", command, s.has)
		}
		found = s
		r.matched[s] = command
	}
	return found
}

func indent(s string) string {
	if s == "" {
		return "  (nothing)"
	}
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ")
}

// step is what the test checks of one README command beyond its success.
type step struct {
	has, hasNot string // pick the command: it contains has and not hasNot
	// observe: the command only looks, and is re-run until want holds,
	// for observeFor. Any other command runs once.
	observe bool
	want    func(r *run, out string) error
}

// final is an answer a re-run must not change: the check fails at once.
type final struct{ error }

// check is nil when the command succeeded and showed what s wants.
func (s *step) check(r *run, out string, status int) error {
	if status != 0 {
		return fmt.Errorf("failed")
	}
	if s == nil || s.want == nil {
		return nil
	}
	return s.want(r, out)
}
