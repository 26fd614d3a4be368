package files

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// routeDoc is one HTTPRoute document without a namespace, so that the
// Loader defaults it: fmt.Sprintf(routeDoc, i, i, version).
const routeDoc = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r%d
spec:
  parentRefs:
  - name: gw
  rules:
  - matches:
    - path: {type: PathPrefix, value: /r%d}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - {name: X-Version, value: v%d}
    backendRefs:
    - name: backend
      port: 80
`

// routesFile is n route documents; versions[i] is route i's version.
func routesFile(versions []int) string {
	docs := make([]string, len(versions))
	for i, v := range versions {
		docs[i] = fmt.Sprintf(routeDoc, i, i, v)
	}
	return strings.Join(docs, "---\n")
}

// TestLoaderReadsEditedDocumentsAsAFreshLoad edits the documents of one
// file step by step (one document, a comment, the order, a copy, a
// document that does not decode and its fix) and checks, after each step,
// that one Loader reads objects equal to those a fresh Load reads, or the
// same error; that a route the step left as written is the object read
// before; and that an edited route reads its new content.
func TestLoaderReadsEditedDocumentsAsAFreshLoad(t *testing.T) {
	dir := t.TempDir()
	three := []int{1, 1, 1}
	steps := []struct {
		name    string
		content string
		// kept are the routes that must be the objects of the step before.
		kept []string
	}{
		{"first", routesFile(three), nil},
		{"one route edited", routesFile([]int{1, 2, 1}), []string{"r0", "r2"}},
		{"a comment added to one route", strings.Replace(routesFile([]int{1, 2, 1}), "kind: HTTPRoute\nmetadata:\n  name: r2", "kind: HTTPRoute\n# the last one\nmetadata:\n  name: r2", 1), []string{"r0", "r1", "r2"}},
		{"an empty document and the order changed", "---\n# nothing\n---\n" + fmt.Sprintf(routeDoc, 2, 2, 1) + "---\n" + fmt.Sprintf(routeDoc, 0, 0, 1) + "---\n" + fmt.Sprintf(routeDoc, 1, 1, 3), []string{"r0"}},
		{"a route written twice", routesFile(three) + "---\n" + fmt.Sprintf(routeDoc, 0, 0, 1), nil},
		{"written once again", routesFile(three), nil},
		{"a route does not decode", routesFile(three) + "---\n" + strings.Replace(fmt.Sprintf(routeDoc, 3, 3, 1), "port: 80", "port: eighty", 1), nil},
		{"fixed", routesFile([]int{1, 1, 1, 1}), nil},
		{"a route added", routesFile([]int{1, 1, 1, 1, 1}), []string{"r0", "r1", "r2", "r3"}},
	}
	var loader Loader
	var before *Loaded
	for _, s := range steps {
		write(t, dir, "routes.yaml", s.content)
		got, gotErr := loader.Load(dir)
		want, wantErr := Load(dir)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("%s: error %v, want %v", s.name, gotErr, wantErr)
		}
		if wantErr != nil {
			continue
		}
		if !reflect.DeepEqual(got.Resources, want.Resources) {
			t.Errorf("%s: the Loader read %+v, a fresh Load %+v", s.name, got.Resources.HTTPRoutes, want.Resources.HTTPRoutes)
		}
		for _, name := range s.kept {
			if routeNamed(got, name) != routeNamed(before, name) {
				t.Errorf("%s: route %s left as written is a new object", s.name, name)
			}
		}
		before = got
	}
	if v := routeNamed(before, "r1").Spec.Rules[0].Filters[0].RequestHeaderModifier.Set[0].Value; v != "v1" {
		t.Errorf("route r1 reads X-Version %q after its last edit, want v1", v)
	}
}

func routeNamed(l *Loaded, name string) *gatewayv1.HTTPRoute {
	for _, r := range l.Resources.HTTPRoutes {
		if r.Name == name && r.Namespace == DefaultNamespace {
			return r
		}
	}
	return nil
}

// TestLoaderDecodesOnlyTheEditedDocument: reading a file of a hundred
// routes after an edit of one allocates a small part of what decoding
// the whole file does.
func TestLoaderDecodesOnlyTheEditedDocument(t *testing.T) {
	dir := t.TempDir()
	versions := make([]int, 100)
	write(t, dir, "routes.yaml", routesFile(versions))
	var loader Loader
	if _, err := loader.Load(dir); err != nil {
		t.Fatal(err)
	}
	versions[50]++
	write(t, dir, "routes.yaml", routesFile(versions))
	edit := mallocs(t, func() error { _, err := loader.Load(dir); return err })
	whole := mallocs(t, func() error { _, err := Load(dir); return err })
	if edit*10 > whole {
		t.Errorf("reading an edit of one route of 100 made %d allocations, reading the file whole %d: more than a tenth", edit, whole)
	}
}

// mallocs is the number of heap allocations f makes.
func mallocs(t *testing.T, f func() error) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := f(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}
