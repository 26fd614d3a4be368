// Package buildinfo says which certgate is running: the version stamped at
// build time, the source revision and the Go version, for `certgate
// version` and the certgate_build_info metric.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// version is stamped by `make build` and the Dockerfile with
// -ldflags "-X github.com/certgate/certgate/internal/buildinfo.version=…".
var version = ""

// Info identifies a build.
type Info struct {
	// Version is the stamped version; without a stamp, the module version
	// the Go toolchain recorded ("(devel)" for a plain go build).
	Version string
	// Revision is the VCS commit the binary was built from, with
	// "-dirty" when the work tree had changes; "unknown" when the build
	// recorded none (go run, go test, -buildvcs=false).
	Revision string
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string
}

// Read returns the Info of the running binary.
func Read() Info {
	info := Info{Version: version, Revision: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fill(info)
	}
	if info.Version == "" {
		info.Version = bi.Main.Version
	}
	return fill(fromSettings(info, bi.Settings))
}

// fromSettings takes the revision from the VCS stamp of the build.
func fromSettings(info Info, settings []debug.BuildSetting) Info {
	dirty := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && info.Revision != "unknown" {
		info.Revision += "-dirty"
	}
	return info
}

func fill(info Info) Info {
	if info.Version == "" {
		info.Version = "(devel)"
	}
	return info
}

// String is the one line `certgate version` prints.
func (i Info) String() string {
	return "certgate " + i.Version + " (revision " + i.Revision + ", " + i.GoVersion + ")"
}
