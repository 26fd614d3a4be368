package translator

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/certgate/certgate/controllers/resources"
)

// TestEveryGoldenSnapshotPassesValidate proves the translator never hands
// the data plane a snapshot it would reject: whatever is wrong in the
// input becomes status, not an invalid snapshot.
func TestEveryGoldenSnapshotPassesValidate(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".in.yaml"), func(t *testing.T) {
			res := goldenResources(t, in)
			snap := Translate(res, Options{Now: goldenNow}).Snapshot
			if err := snap.Validate(); err != nil {
				t.Errorf("snapshot fails Validate:\n%v", err)
			}
		})
	}
}

// goldenResources renders and decodes one golden input, as TestGolden
// does.
func goldenResources(t *testing.T, path string) *resources.Resources {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New(filepath.Base(path)).Funcs(newGoldenPKI(t).funcs()).Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	var rendered bytes.Buffer
	if err := tmpl.Execute(&rendered, nil); err != nil {
		t.Fatal(err)
	}
	objs, err := resources.Decode(path, rendered.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	res := &resources.Resources{}
	for _, o := range objs {
		if err := res.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	res.Sort()
	return res
}
