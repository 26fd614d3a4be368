package clientcert

import (
	"crypto/tls"
	"testing"
)

var tlsStateWithoutCerts = tls.ConnectionState{HandshakeComplete: true}

// FuzzXFCCValue checks that no SAN or subject text can end its value early
// and smuggle a pair (say ";By=…" or ";Hash=…") into certgate's XFCC
// element: whatever the text, the element parses back to the same keys and
// the same values.
func FuzzXFCCValue(f *testing.F) {
	for _, seed := range []string{"spiffe://example.org/sa/gw", `a";Hash=evil`, `x\`, `\";URI=y`, "a,b=c", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if hasControl(v) {
			return // never written: see writePairs and escapeControl
		}
		header := "Hash=00;Subject=" + quoteXFCC(v) + ";URI=" + xfccValue(v) + ";DNS=" + xfccValue(v)
		elems := parseXFCC(t, header)
		if len(elems) != 1 || len(elems[0]) != 4 {
			t.Fatalf("%q: header %q parses to %q", v, header, elems)
		}
		for i, key := range []string{"Hash", "Subject", "URI", "DNS"} {
			if elems[0][i][0] != key {
				t.Fatalf("%q: pair %d is %q, want key %s (header %q)", v, i, elems[0][i], key, header)
			}
		}
		for _, pair := range elems[0][1:] {
			if pair[1] != v {
				t.Fatalf("%q: %s read back as %q (header %q)", v, pair[0], pair[1], header)
			}
		}
	})
}
