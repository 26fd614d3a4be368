package resources

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestDecodeOnceDecodesAsTheSerializer checks decodeOnce against the
// serializer's own path, decodeChecked, on every example configuration
// and on documents that must fail: where the long way decodes, the short
// way gives an equal object (every example takes the short way); where
// the long way fails, the short way never decodes.
func TestDecodeOnceDecodesAsTheSerializer(t *testing.T) {
	docs := exampleDocuments(t)
	bad := []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n  k: w\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndatta: {}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n",
		"apiVersion: v1/x/y\nkind: ConfigMap\nmetadata:\n  name: a\n",
		"kind: ConfigMap\nmetadata:\n  name: a\n",
		"apiVersion: v1\nkind: 7\nmetadata:\n  name: a\n",
		"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: a\nspec:\n  listeners:\n  - name: x\n    port: eighty\n",
	}
	docs = append(docs, bad...)
	if len(docs) < 20 {
		t.Fatalf("only %d documents to compare", len(docs))
	}
	for i, doc := range docs {
		want, err := decodeChecked([]byte(doc))
		got, ok := decodeOnce([]byte(doc))
		switch {
		case err == nil && !ok && i < len(docs)-len(bad):
			t.Errorf("decodeOnce left a valid example to the long way:\n%s", doc)
		case err != nil && ok:
			t.Errorf("decodeOnce decoded what the serializer refuses (%v):\n%s", err, doc)
		case err == nil && ok && !reflect.DeepEqual(got, want):
			t.Errorf("decodeOnce and the serializer differ:\n%s\n got  %#v\n want %#v", doc, got, want)
		}
	}
	for _, doc := range bad {
		if _, err := decodeChecked([]byte(doc)); err == nil {
			t.Errorf("the serializer decodes a document meant to fail:\n%s", doc)
		}
	}
}

// exampleDocuments are the YAML documents of examples/.
func exampleDocuments(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join("..", "..", "examples"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, d := range splitDocuments(data) {
			if !blank(d.body) {
				out = append(out, string(d.body))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
