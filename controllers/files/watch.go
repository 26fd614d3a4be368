package files

import (
	"context"
	"encoding/binary"
	"hash/maphash"
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
// network file systems that send no events) and needs no dependency.
// The fingerprint hashes each file's name, size, modification time and
// content: the content digest catches a rewrite within the modification
// time's granularity that leaves the size unchanged. Each look streams
// every file through one reused buffer (see digester), so it allocates
// next to nothing however large the directory is.
func Watch(ctx context.Context, dir string, interval time.Duration, since uint64, changed func()) {
	last := since
	var f fingerprinter
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
		fp, _ := f.fingerprint(dir)
		if fp != last {
			last = fp
			changed()
		}
	}
}

// Fingerprint returns a digest of the names, sizes, modification times
// and contents of the YAML files in dir. Fingerprints compare within one
// process only.
func Fingerprint(dir string) (uint64, error) {
	var f fingerprinter
	return f.fingerprint(dir)
}

// fingerprinter takes fingerprints of a directory, reusing its digester's
// buffer from one look to the next.
type fingerprinter struct {
	h       maphash.Hash
	content digester
	num     [8]byte
}

func (f *fingerprinter) fingerprint(dir string) (uint64, error) {
	names, err := yamlFiles(dir)
	if err != nil {
		return 0, err
	}
	f.h.SetSeed(seed)
	for _, name := range names {
		// The name, a NUL (names cannot hold one) and a tag that says
		// what follows: the sequence of files is unambiguous.
		_, _ = f.h.WriteString(name)
		_ = f.h.WriteByte(0)
		p := filepath.Join(dir, name)
		info, err := os.Stat(p)
		if err != nil {
			_ = f.h.WriteByte('m') // missing
			continue
		}
		sum, err := f.content.file(p)
		if err != nil {
			_ = f.h.WriteByte('u') // unreadable
			continue
		}
		_ = f.h.WriteByte('f')
		f.number(uint64(info.Size()))
		f.number(uint64(info.ModTime().UnixNano()))
		f.number(sum)
	}
	return f.h.Sum64(), nil
}

// number adds v to the fingerprint, eight bytes wide.
func (f *fingerprinter) number(v uint64) {
	_, _ = f.h.Write(binary.LittleEndian.AppendUint64(f.num[:0], v))
}
