package translator

import (
	"path/filepath"
	"strings"
	"testing"
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
			res := goldenResources(t, in, newGoldenPKI(t))
			snap := Translate(res, Options{Now: goldenNow}).Snapshot
			if err := snap.Validate(); err != nil {
				t.Errorf("snapshot fails Validate:\n%v", err)
			}
		})
	}
}
