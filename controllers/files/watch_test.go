package files

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkWatchLook is one poll of a directory of 100 files of 70 KB,
// the size of 10,000 routes: each look reads every file, through the
// fingerprinter's one buffer (B/op stays a few hundred bytes a file,
// whatever the files' size).
func BenchmarkWatchLook(b *testing.B) {
	dir := b.TempDir()
	content := strings.Repeat("# seventy bytes of YAML comment to fill a file of the size of 100 routes\n", 1000)
	for i := range 100 {
		write(b, dir, fmt.Sprintf("routes-%03d.yaml", i), content)
	}
	var f fingerprinter
	b.ReportAllocs()
	b.SetBytes(int64(100 * len(content)))
	for b.Loop() {
		if _, err := f.fingerprint(dir); err != nil {
			b.Fatal(err)
		}
	}
}
