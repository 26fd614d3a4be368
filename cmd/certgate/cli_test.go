package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/testconfig"
)

// TestEveryHelpGoesToStandardOutputWithExitZero: help was asked for, so it
// is output, not an error; flags are spelt with two dashes, as the
// documentation spells them.
func TestEveryHelpGoesToStandardOutputWithExitZero(t *testing.T) {
	singleDash := regexp.MustCompile(`(?m)^  -[a-z]`)
	for _, cmd := range []string{"controller", "standalone", "pin"} {
		for _, help := range []string{"-h", "--help"} {
			var out, errOut bytes.Buffer
			if code := run([]string{cmd, help}, nil, &out, &errOut); code != 0 {
				t.Errorf("%s %s: exit %d, want 0", cmd, help, code)
			}
			if !strings.HasPrefix(out.String(), "usage: certgate "+cmd) || errOut.Len() != 0 {
				t.Errorf("%s %s: stdout %q, stderr %q: want the usage on stdout only", cmd, help, out.String(), errOut.String())
			}
			if singleDash.MatchString(out.String()) {
				t.Errorf("%s %s: a flag spelt with one dash:\n%s", cmd, help, out.String())
			}
			if cmd != "pin" && !strings.Contains(out.String(), "\n  --log-format format\n") {
				t.Errorf("%s %s: no --log-format in the help:\n%s", cmd, help, out.String())
			}
		}
	}
}

func TestCheckTakesTheDirectoryAsArgumentOrAsConfig(t *testing.T) {
	dir := checkDir(t, goodPin)
	for _, args := range [][]string{
		{"standalone", "--check", dir},
		{"standalone", "--check", "--config", dir},
		{"standalone", "--config", dir, "--check"},
		{"standalone", "--check", dir, "--log-level", "debug"},
		{"standalone", "--check=" + dir},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, nil, &out, &errOut); code != 0 {
			t.Errorf("%q: exit %d, want 0:\n%s%s", args, code, out.String(), errOut.String())
		}
	}
}

func TestCheckRefusesADirectoryWithoutYAML(t *testing.T) {
	dir := t.TempDir()
	writeConfigFile(t, dir, "notes.txt", "not configuration")
	code, out := runCheck(dir)
	if code != 1 || !strings.Contains(out, "holds no *.yaml or *.yml file") {
		t.Fatalf("exit %d, want 1 and a line saying there is no YAML:\n%s", code, out)
	}
}

// TestCheckReportsEveryBrokenFileInOneRun: each file that does not decode
// gets its own line, with the field path of an unknown field and the
// document index of a document without kind.
func TestCheckReportsEveryBrokenFileInOneRun(t *testing.T) {
	dir := checkDir(t, goodPin)
	writeConfigFile(t, dir, "gateway.yaml", strings.Replace(fmt.Sprintf(testconfig.GatewayYAML, 8443, 8080), "protocol: HTTP", "prot: HTTP", 1))
	writeConfigFile(t, dir, "nokind.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nmetadata:\n  name: b\n")
	code, out := runCheck(dir)
	for _, want := range []string{
		`error: gateway.yaml:1: document 1: Gateway: strict decoding error: unknown field "spec.listeners[0].prot"`,
		`error: nokind.yaml:6: document 2: apiVersion "v1", kind "": every document needs both`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}

func TestLogFlagsOnControllerAndStandalone(t *testing.T) {
	s, code := parseStandalone([]string{"--config", t.TempDir(), "--log-format", "json", "--log-level", "debug"}, &bytes.Buffer{}, &bytes.Buffer{})
	if code >= 0 {
		t.Fatalf("standalone flags: exit %d", code)
	}
	c, code := parseControllerFlags([]string{"--leader-elect=false", "--log-format", "text", "--log-level", "warn"}, &bytes.Buffer{}, &bytes.Buffer{})
	if code >= 0 {
		t.Fatalf("controller flags: exit %d", code)
	}
	var js, text bytes.Buffer
	s.log.logger(&js).Debug("reload", "n", 1)
	var line map[string]any
	if err := json.Unmarshal(js.Bytes(), &line); err != nil || line["msg"] != "reload" {
		t.Errorf("standalone --log-format json --log-level debug wrote %q", js.String())
	}
	c.log.logger(&text).Info("hidden")
	c.log.logger(&text).Warn("shown")
	if got := text.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "level=WARN msg=shown") {
		t.Errorf("controller --log-format text --log-level warn wrote %q", got)
	}
	for _, cmd := range []string{"controller", "standalone"} {
		var errOut bytes.Buffer
		args := []string{cmd, "--log-format", "xml", "--leader-elect=false"}
		if cmd == "standalone" {
			args = []string{cmd, "--log-format", "xml", "--config", t.TempDir()}
		}
		if code := run(args, nil, &bytes.Buffer{}, &errOut); code != 2 || !strings.Contains(errOut.String(), `--log-format "xml": want text or json`) {
			t.Errorf("%s --log-format xml: exit %d, stderr %q", cmd, code, errOut.String())
		}
	}
}
