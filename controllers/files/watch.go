package files

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// PollInterval is how often Watch looks at the directory.
const PollInterval = 250 * time.Millisecond

// Watch calls changed whenever the fingerprint of the directory's YAML
// files differs from since (a file added, removed or renamed, or its
// content changed), then from the last one seen. It looks every interval
// until ctx ends. Taking since before reading the directory means a
// change made while it is read is not missed.
//
// It polls instead of using inotify (fsnotify): a poll sees every way a
// file can change (in-place writes, editors that rename a temporary file
// over the original, Kubernetes ConfigMap volumes that swap a symlink,
// network file systems that send no events), needs no dependency, and at
// four looks a second over a few kilobytes of YAML costs nothing. The
// fingerprint hashes each file's name, size, modification time and
// content: the content hash catches a rewrite within the modification
// time's granularity that leaves the size unchanged.
func Watch(ctx context.Context, dir string, interval time.Duration, since [sha256.Size]byte, changed func()) {
	last := since
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// A directory that cannot be read (removed, permissions) counts as
		// a change, so the reload reports why.
		fp, _ := Fingerprint(dir)
		if fp != last {
			last = fp
			changed()
		}
	}
}

// Fingerprint returns a hash of the names, sizes, modification times and
// contents of the YAML files in dir.
func Fingerprint(dir string) ([sha256.Size]byte, error) {
	h := sha256.New()
	names, err := yamlFiles(dir)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	for _, name := range names {
		p := filepath.Join(dir, name)
		info, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(h, "%s\x00missing\x00", name)
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(h, "%s\x00unreadable\x00", name)
			continue
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%x\x00", name, info.Size(), info.ModTime().UnixNano(), sum)
	}
	return [sha256.Size]byte(h.Sum(nil)), nil
}
