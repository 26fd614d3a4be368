package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestRevisionFromTheVCSStampMarksAModifiedTree(t *testing.T) {
	got := fromSettings(Info{Revision: "unknown"}, []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"},
	})
	if got.Revision != "0123abcd-dirty" {
		t.Errorf("revision %q, want 0123abcd-dirty", got.Revision)
	}
	if got := fromSettings(Info{Revision: "unknown"}, nil); got.Revision != "unknown" {
		t.Errorf("no stamp: revision %q, want unknown", got.Revision)
	}
}

func TestReadPrefersTheStampedVersion(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "v1.2.3"
	if got := Read(); got.Version != "v1.2.3" || got.GoVersion != runtime.Version() {
		t.Errorf("Read() = %+v, want version v1.2.3 and %s", got, runtime.Version())
	}
}
