// Package helmtest runs the Helm pinned in tools/helm (bin/helm, built by
// `make bin/helm`) for the tests of charts/certgate: it renders the chart
// and splits what it renders into YAML documents.
//
// Helm is exec'd rather than imported, so certgate's go.mod never depends
// on it.
package helmtest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Binary is $HELM, or bin/helm of the checkout at repoRoot. Without either
// the test fails: `make chart-check` and `make unit` build bin/helm first.
func Binary(t testing.TB, repoRoot string) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	h, err := filepath.Abs(filepath.Join(repoRoot, "bin", "helm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h); err != nil {
		t.Fatalf("%v: run make bin/helm to build the pinned Helm", err)
	}
	return h
}

// Run runs helm with args and returns its stdout, and its stderr as the
// error text when it exits non-zero.
func Run(helm string, args ...string) ([]byte, error) {
	cmd := exec.Command(helm, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, errors.New(strings.TrimSpace(stderr.String()) + " (" + err.Error() + ")")
	}
	return out, nil
}

// Template renders chart as release in namespace with the
// extra args (--set, -f ...), and fails the test if Helm refuses.
func Template(t testing.TB, helm, chart, release, namespace string, args ...string) []byte {
	t.Helper()
	base := []string{"template", release, chart, "--namespace", namespace}
	out, err := Run(helm, append(base, args...)...)
	if err != nil {
		t.Fatalf("helm template %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// Documents splits a YAML stream into its non-empty documents.
func Documents(t testing.TB, b []byte) [][]byte {
	t.Helper()
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs [][]byte
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		if len(m) > 0 {
			docs = append(docs, doc)
		}
	}
}
