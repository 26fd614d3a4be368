// Package runtimeconfig sets the Go runtime's garbage collector for a
// proxy: at process start a soft memory limit taken from the container,
// unless the operator's GOMEMLIMIT says otherwise, and a lower GC target
// while a configuration change runs (TightenGC). Otherwise the GC target
// stays Go's (GOGC=100): a target of 200 measured no faster per request
// (docs/dataplane.md) and made the heap of a large configuration half as
// big again.
package runtimeconfig

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// LimitPercent is the share of the container's memory limit given to the
// Go runtime as its soft limit when GOMEMLIMIT is unset. The rest is
// headroom for what the runtime does not count: thread stacks of the OS,
// cgo, the page cache of files the process writes.
const LimitPercent = 90

// Settings is what Apply did.
type Settings struct {
	// MemoryLimit is the soft limit set in bytes, 0 when none was: GOMEMLIMIT
	// set, or no container limit found.
	MemoryLimit int64
}

// Apply sets the defaults on the running process. Call it once, first
// thing in main.
func Apply() Settings {
	s := Decide(os.LookupEnv, "/sys/fs/cgroup")
	if s.MemoryLimit != 0 {
		debug.SetMemoryLimit(s.MemoryLimit)
	}
	return s
}

// Decide works out the settings from the environment and the cgroup file
// system mounted at root, without applying them.
func Decide(lookupEnv func(string) (string, bool), root string) Settings {
	var s Settings
	if _, set := lookupEnv("GOMEMLIMIT"); !set {
		if limit, ok := containerLimit(root); ok {
			s.MemoryLimit = limit / 100 * LimitPercent
		}
	}
	return s
}

// containerLimit reads the memory limit of the process's cgroup: cgroup v2
// (memory.max) or v1 (memory/memory.limit_in_bytes). "max", or v1's huge
// "unlimited" value, is no limit.
func containerLimit(root string) (int64, bool) {
	for _, name := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil || v <= 0 || v >= 1<<62 {
			return 0, false
		}
		return v, true
	}
	return 0, false
}
