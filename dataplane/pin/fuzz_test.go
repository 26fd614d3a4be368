package pin

import (
	"bytes"
	"testing"
)

// FuzzParseLine checks that parsing never panics and that a parsed pin
// prints in a form that parses back to the same pin, so a pin copied from
// `certgate pin` or a status message always means what it meant.
func FuzzParseLine(f *testing.F) {
	f.Add("sha256:" + sha256OfTest)
	f.Add("sha1:" + sha1OfTest)
	f.Add("spki-sha256:" + sha256OfEmpty)
	f.Fuzz(func(t *testing.T, line string) {
		p, err := ParseLine(line)
		if err != nil {
			return
		}
		if len(p.Digest) != p.Algorithm.Size() {
			t.Fatalf("ParseLine(%q) gave a %d-byte %s digest", line, len(p.Digest), p.Algorithm)
		}
		again, err := ParseLine(p.String())
		if err != nil {
			t.Fatalf("ParseLine(%q) = %q, which does not parse: %v", line, p.String(), err)
		}
		if again.Algorithm != p.Algorithm || !bytes.Equal(again.Digest, p.Digest) || again.String() != p.String() {
			t.Fatalf("ParseLine(%q) = %q, which parses back as %q", line, p.String(), again.String())
		}
	})
}
