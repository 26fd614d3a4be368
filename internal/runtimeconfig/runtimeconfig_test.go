package runtimeconfig

import (
	"os"
	"path/filepath"
	"testing"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func cgroup(t *testing.T, name, content string) string {
	t.Helper()
	root := t.TempDir()
	if name != "" {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestContainerLimitBecomesNinetyPercentSoftLimit(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		want                int64
	}{
		{"cgroup v2", "memory.max", "536870912\n", 536870912 / 100 * 90},
		{"cgroup v1", "memory/memory.limit_in_bytes", "1073741824\n", 1073741824 / 100 * 90},
		{"v2 without limit", "memory.max", "max\n", 0},
		{"v1 without limit", "memory/memory.limit_in_bytes", "9223372036854771712\n", 0},
		{"no cgroup files", "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Decide(env(nil), cgroup(t, tc.file, tc.content))
			if s.MemoryLimit != tc.want {
				t.Fatalf("got %+v, want limit %d", s, tc.want)
			}
		})
	}
}

func TestOperatorSettingWins(t *testing.T) {
	root := cgroup(t, "memory.max", "536870912\n")
	if s := Decide(env(map[string]string{"GOMEMLIMIT": "300MiB"}), root); s != (Settings{}) {
		t.Fatalf("GOMEMLIMIT set: got %+v, want nothing changed", s)
	}
}
