package files

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// PollInterval is how often Watch looks at the directory when no file
// system event tells it to look sooner.
const PollInterval = 250 * time.Millisecond

// Settle is how long a changed directory must stay as it was seen before
// Watch reports the change: a file being written (truncated, then filled)
// is not reloaded half written.
const Settle = 10 * time.Millisecond

// Watch calls changed whenever the fingerprint of the directory's YAML
// files differs from since (a file added, removed or renamed, or its
// content changed), then from the last one reported, until ctx ends.
// Taking since before reading the directory means a change made while it
// is read is not missed.
//
// It looks at the directory when the file system reports an event in it
// (inotify, through fsnotify) and every interval whatever happens. The
// events make a change serve within milliseconds; the poll sees every way
// a file can change that sends no event to the directory (a file behind a
// symbolic link rewritten in place, network file systems) and stands in
// when no watch can be set up.
//
// A changed fingerprint is reported once a second look, Settle later,
// finds the same one: a file is rarely written in one system call, and
// reloading a file cut short could drop a ClientCertPolicy whose route
// stays, serving that route without its pins until the next look. A
// directory that keeps changing is reported at the latest one interval
// after the first change was seen, as it is, so a steady stream of writes
// still reloads.
//
// The fingerprint hashes each file's name, size, modification time and
// content: the content digest catches a rewrite within the modification
// time's granularity that leaves the size unchanged. Each look streams
// every file through one reused buffer (see digester), so it allocates
// next to nothing however large the directory is.
func Watch(ctx context.Context, dir string, interval time.Duration, since uint64, changed func()) {
	watch(ctx, dir, interval, Settle, since, notify(ctx, dir), changed)
}

// watch is Watch with its settle time and its events (nil for none) given.
func watch(ctx context.Context, dir string, interval, settle time.Duration, since uint64, events <-chan struct{}, changed func()) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	again := time.NewTimer(settle)
	again.Stop()
	defer again.Stop()
	var (
		f fingerprinter
		// last is the fingerprint reported; seen the one the last look
		// found different from it, at seenAt, waiting to be confirmed.
		// firstAt is when the change was first seen.
		last, seen      uint64
		seenAt, firstAt time.Time
		pending         bool
	)
	last = since
	for {
		select {
		case <-ctx.Done():
			return
		case <-events:
			// Each event pushes the look back: a file written in
			// several calls is looked at once its writes pause.
			again.Reset(settle)
			continue
		case <-again.C:
		case <-tick.C:
		}
		// A directory that cannot be read (removed, permissions) counts as
		// a change, so the reload reports why.
		fp, _ := f.fingerprint(dir)
		now := time.Now()
		switch {
		case fp == last:
			pending = false
		case pending && (fp == seen && now.Sub(seenAt) >= settle || now.Sub(firstAt) >= interval):
			last, pending = fp, false
			changed()
		default:
			if !pending {
				firstAt = now
			}
			if !pending || fp != seen {
				seen, seenAt = fp, now
			}
			pending = true
			again.Reset(settle)
		}
	}
}

// notify returns a channel that receives a value after file system events
// in dir (names created, written, removed, renamed, their modes changed),
// coalesced, until ctx ends; nil, which never receives, when no watch can
// be set up (no inotify, too many watches): Watch then polls alone.
func notify(ctx context.Context, dir string) <-chan struct{} {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil
	}
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		return nil
	}
	out := make(chan struct{}, 1)
	go func() {
		defer func() { _ = w.Close() }()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-w.Events:
				if !ok {
					return
				}
				select {
				case out <- struct{}{}:
				default: // one is waiting already
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
				// An overflow or a watch lost (the directory removed):
				// the poll goes on seeing changes.
			}
		}
	}()
	return out
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
