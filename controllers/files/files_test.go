package files

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/controllers/translator"
)

const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n"

func write(t testing.TB, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDefaultsTheNamespaceAndSynthesisesTheClass(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", strings.ReplaceAll(cm, "%s", "one")+"---\n"+strings.ReplaceAll(cm, "%s", "two"))
	write(t, dir, ".a.yaml.swp", "garbage")
	write(t, dir, "notes.txt", "garbage")
	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Resources.ConfigMaps) != 2 || l.Resources.ConfigMaps[0].Namespace != DefaultNamespace {
		t.Errorf("config maps: %+v", l.Resources.ConfigMaps)
	}
	if !l.Synthesised || l.Resources.GatewayClasses[0].Spec.ControllerName != translator.ControllerName {
		t.Errorf("no synthesised class of certgate's controller: %+v", l.Resources.GatewayClasses)
	}
	if f := l.Files[Key{"ConfigMap", "default", "two"}]; f != "a.yaml" {
		t.Errorf("ConfigMap two from %q, want a.yaml", f)
	}
}

func TestLoadFailsWholeNamingFileAndLine(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", strings.ReplaceAll(cm, "%s", "ok"))
	write(t, dir, "b.yaml", strings.ReplaceAll(cm, "%s", "ok2")+"---\n# next\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\ndata: {a: [}\n")
	_, err := Load(dir)
	var de *resources.DecodeError
	if !errors.As(err, &de) || de.File != "b.yaml" || de.Line != 6 {
		t.Fatalf("error %v, want a DecodeError at b.yaml:6", err)
	}
}

func TestLoadRefusesAnObjectDefinedTwice(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", strings.ReplaceAll(cm, "%s", "x"))
	write(t, dir, "b.yml", strings.ReplaceAll(cm, "%s", "x"))
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "b.yml: ConfigMap default/x: metadata.name: already defined in a.yaml") {
		t.Fatalf("error %v", err)
	}
}

func TestFingerprintSeesASameSizeRewrite(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "name: aaaa\n")
	before, _ := Fingerprint(dir)
	info, _ := os.Stat(filepath.Join(dir, "a.yaml"))
	write(t, dir, "a.yaml", "name: bbbb\n")
	_ = os.Chtimes(filepath.Join(dir, "a.yaml"), info.ModTime(), info.ModTime())
	if after, _ := Fingerprint(dir); after == before {
		t.Error("a rewrite with the same size and modification time was not seen")
	}
}

func TestLinesJudgeConditionPolarityAndNameTheFile(t *testing.T) {
	l := &Loaded{Files: map[Key]string{
		{"Gateway", "ns", "gw"}:         "gw.yaml",
		{"HTTPRoute", "ns", "orphan"}:   "routes.yaml",
		{"ClientCertPolicy", "ns", "p"}: "p.yaml",
	}}
	st := &translator.Status{Gateways: []translator.GatewayStatus{{}}}
	st.Gateways[0].Namespace, st.Gateways[0].Name = "ns", "gw"
	st.Gateways[0].Status.Listeners = []gatewayv1.ListenerStatus{{Name: "https", Conditions: []metav1.Condition{
		{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", Message: "ok"},
		{Type: "Conflicted", Status: metav1.ConditionFalse, Reason: "NoConflicts", Message: "none"},
		{Type: "ResolvedRefs", Status: metav1.ConditionFalse, Reason: "InvalidCertificateRef", Message: "tls.certificateRefs[0]: missing"},
	}}}
	var problems []string
	for _, p := range Problems(Lines(st, l)) {
		problems = append(problems, p.Text)
	}
	want := []string{
		"gw.yaml: Gateway ns/gw listener https: condition ResolvedRefs=False InvalidCertificateRef: tls.certificateRefs[0]: missing",
		"p.yaml: ClientCertPolicy ns/p: " + unservedWhy["ClientCertPolicy"],
		"routes.yaml: HTTPRoute ns/orphan: " + unservedWhy["HTTPRoute"],
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadReportsEveryFileThatDoesNotDecode(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", strings.ReplaceAll(cm, "%s", "a")+"dtaa: {}\n")
	write(t, dir, "b.yaml", strings.ReplaceAll(cm, "%s", "ok"))
	write(t, dir, "c.yaml", "apiVersion: v1\nmetadata: {name: c}\n")
	_, err := Load(dir)
	errs := loadErrors(err)
	if len(errs) != 2 || !strings.HasPrefix(errs[0].Error(), "a.yaml:1: document 1: ") || !strings.HasPrefix(errs[1].Error(), "c.yaml:1: document 1: ") {
		t.Fatalf("errors %q, want one for a.yaml and one for c.yaml", errs)
	}
}

// TestLoaderDecodesASameSizeRewriteWithinTheSameModificationTime: the
// Loader reuses a file's objects only while its content is the same; the
// size and the modification time decide nothing.
func TestLoaderDecodesASameSizeRewriteWithinTheSameModificationTime(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yaml")
	write(t, dir, "a.yaml", strings.ReplaceAll(cm, "%s", "aaaa"))
	var loader Loader
	if _, err := loader.Load(dir); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	write(t, dir, "a.yaml", strings.ReplaceAll(cm, "%s", "bbbb"))
	if err := os.Chtimes(path, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	l, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Resources.ConfigMaps[0].Name; got != "bbbb" {
		t.Errorf("ConfigMap %q after a same-size rewrite, want bbbb", got)
	}
}

// TestLoaderReadsWhatAFreshLoadReads edits a directory step by step and
// compares, after each step, what one Loader (which updates its map of
// objects to files for the files that changed) reads with what a fresh
// Load reads: the same objects from the same files, or the same errors.
func TestLoaderReadsWhatAFreshLoadReads(t *testing.T) {
	dir := t.TempDir()
	cms := func(names ...string) string {
		var docs []string
		for _, n := range names {
			docs = append(docs, strings.ReplaceAll(cm, "%s", n))
		}
		return strings.Join(docs, "---\n")
	}
	steps := []struct {
		name  string
		apply func()
	}{
		{"first", func() { write(t, dir, "a.yaml", cms("one", "two")); write(t, dir, "b.yaml", cms("three")) }},
		{"an object moves to another file", func() { write(t, dir, "a.yaml", cms("one")); write(t, dir, "b.yaml", cms("three", "two")) }},
		{"a file comes", func() { write(t, dir, "c.yaml", cms("four")) }},
		{"an object defined twice", func() { write(t, dir, "c.yaml", cms("four", "one")) }},
		{"defined once again", func() { write(t, dir, "c.yaml", cms("four")) }},
		{"twice within one file", func() { write(t, dir, "c.yaml", cms("four", "four")) }},
		{"a file goes", func() { _ = os.Remove(filepath.Join(dir, "c.yaml")) }},
		{"a file does not decode", func() { write(t, dir, "b.yaml", cms("three")+"data: [\n") }},
		{"an object moves while a file decodes again", func() { write(t, dir, "b.yaml", cms("three", "one")); write(t, dir, "a.yaml", cms("two")) }},
		{"an object is edited in place", func() { write(t, dir, "b.yaml", cms("three")+"data: {k: v}\n---\n"+cms("one")) }},
		{"and edited again", func() { write(t, dir, "b.yaml", cms("three")+"data: {k: w}\n---\n"+cms("one")) }},
		{"nothing changes", func() {}},
	}
	var loader Loader
	var last *Loaded
	var lastObjects []client.Object
	var lastFiles map[Key]string
	for _, s := range steps {
		s.apply()
		got, gotErr := loader.Load(dir)
		want, wantErr := Load(dir)
		if last != nil && !slices.Equal(last.Resources.Objects(), lastObjects) {
			t.Errorf("%s: the lists of the last reading changed", s.name)
		}
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("%s: error %v, want %v", s.name, gotErr, wantErr)
			continue
		}
		if wantErr != nil {
			continue
		}
		if !maps.Equal(got.Files, want.Files) {
			t.Errorf("%s: files %v, want %v", s.name, got.Files, want.Files)
		}
		if !reflect.DeepEqual(got.Resources, want.Resources) {
			t.Errorf("%s: objects %v, want %v", s.name, got.Resources.Objects(), want.Resources.Objects())
		}
		if got.since != 0 {
			checkMoved(t, s.name, got, lastFiles)
		}
		last, lastObjects, lastFiles = got, got.Resources.Objects(), maps.Clone(got.Files)
	}
}

// checkMoved checks that l.moved are the keys whose file differs from
// the reading of files before.
func checkMoved(t *testing.T, step string, l *Loaded, before map[Key]string) {
	t.Helper()
	want := map[Key]struct{}{}
	for k, f := range before {
		if l.Files[k] != f {
			want[k] = struct{}{}
		}
	}
	for k, f := range l.Files {
		if before[k] != f {
			want[k] = struct{}{}
		}
	}
	if !maps.Equal(l.moved, want) {
		t.Errorf("%s: moved %v, want %v", step, l.moved, want)
	}
}

// The objects of one Load share one copy of each string they repeat,
// across files too, and read as decoded.
func TestLoadSharesTheStringsObjectsRepeat(t *testing.T) {
	dir := t.TempDir()
	route := "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: %s\nspec:\n  parentRefs:\n  - name: gw\n  rules:\n  - backendRefs:\n    - name: backend\n      port: 80\n"
	write(t, dir, "a.yaml", fmt.Sprintf(route, "a"))
	write(t, dir, "b.yaml", fmt.Sprintf(route, "b"))
	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := l.Resources.HTTPRoutes[0], l.Resources.HTTPRoutes[1]
	if a.Name != "a" || b.Name != "b" || a.Spec.Rules[0].BackendRefs[0].Name != "backend" || a.APIVersion != "gateway.networking.k8s.io/v1" {
		t.Fatalf("routes read as %+v and %+v", a, b)
	}
	for what, pair := range map[string][2]string{
		"apiVersion":         {a.APIVersion, b.APIVersion},
		"parentRefs[0].name": {string(a.Spec.ParentRefs[0].Name), string(b.Spec.ParentRefs[0].Name)},
		"backendRefs[0].name": {string(a.Spec.Rules[0].BackendRefs[0].Name),
			string(b.Spec.Rules[0].BackendRefs[0].Name)},
	} {
		if unsafe.StringData(pair[0]) != unsafe.StringData(pair[1]) {
			t.Errorf("%s: the two routes hold two copies of %q", what, pair[0])
		}
	}
}
