package pin

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // test vectors for SHA-1 thumbprints.
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/testpki"
)

// The example pins of DESIGN.md: SHA-256 and SHA-1 of "test", and SHA-256
// of the empty string, so known-answer tests need no certificate.
const (
	sha256OfTest  = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	sha1OfTest    = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
	sha256OfEmpty = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseNormalisesDigestText(t *testing.T) {
	want := sha256OfTest
	for _, text := range []string{
		sha256OfTest,
		strings.ToUpper(sha256OfTest),
		"9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08",
		"9f 86 d0 81 88 4c 7d 65 9a 2f ea a0 c5 5a d0 15 a3 bf 4f 1b 2b 0b 82 2c d1 5d 6c 15 b0 f0 0a 08",
		"  9f86d081884c7d659a2feaa0c55ad015\ta3bf4f1b2b0b822cd15d6c15b0f00a08  ",
	} {
		p, err := Parse(SHA256, text)
		if err != nil {
			t.Errorf("Parse(sha256, %q): %v", text, err)
			continue
		}
		if got := hex.EncodeToString(p.Digest); got != want || p.Algorithm != SHA256 {
			t.Errorf("Parse(sha256, %q) = %s:%s, want sha256:%s", text, p.Algorithm, got, want)
		}
	}
}

func TestParseIgnoresTheLeftToRightMarkOfTheWindowsCertificateDialog(t *testing.T) {
	// What a copy of the Thumbprint field of the Windows certificate dialog
	// gives: an invisible U+200E, then space-separated lowercase hex.
	copied := "\u200ea9 4a 8f e5 cc b1 9b a6 1c 4c 08 73 d3 91 e9 87 98 2f bb d3"
	p, err := Parse(SHA1, copied)
	if err != nil {
		t.Fatalf("Parse(sha1, %q): %v", copied, err)
	}
	if got := hex.EncodeToString(p.Digest); got != sha1OfTest {
		t.Errorf("digest = %s, want %s", got, sha1OfTest)
	}
	line, err := ParseLine("\u200esha1:" + strings.ToUpper(sha1OfTest))
	if err != nil {
		t.Fatalf("ParseLine with a leading U+200E: %v", err)
	}
	if line.String() != "sha1:"+sha1OfTest {
		t.Errorf("ParseLine = %s, want sha1:%s", line, sha1OfTest)
	}
}

func TestParseSPKIAcceptsBase64AndHex(t *testing.T) {
	emptyHex := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for _, text := range []string{sha256OfEmpty, emptyHex, strings.ToUpper(emptyHex)} {
		p, err := Parse(SPKISHA256, text)
		if err != nil {
			t.Errorf("Parse(spki-sha256, %q): %v", text, err)
			continue
		}
		if got := hex.EncodeToString(p.Digest); got != emptyHex {
			t.Errorf("Parse(spki-sha256, %q) digest = %s, want %s", text, got, emptyHex)
		}
		if p.String() != "spki-sha256:"+sha256OfEmpty {
			t.Errorf("String() = %q, want the base64 form", p.String())
		}
	}
}

func TestParseErrorsSayWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		alg       Algorithm
		text      string
		wantInErr string
	}{
		{SHA256, sha256OfTest[:62], "62 hex digits, want 64"},
		{SHA256, sha256OfTest + "00", "66 hex digits, want 64"},
		{SHA1, sha256OfTest, "64 hex digits, want 40"},
		{SHA1, "g" + sha1OfTest[1:], `'g', which is not a hex digit`},
		{SHA256, "zz", `'z', which is not a hex digit`},
		{SHA256, "", "empty"},
		{SHA256, " : : ", "empty"},
		{SPKISHA256, "not base64!", "neither base64 nor 64 hex digits"},
		{SPKISHA256, "AAAA", "decodes to 3 bytes, want 32"},
		{"md5", sha1OfTest, `unknown pin algorithm "md5"`},
	} {
		_, err := Parse(tc.alg, tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
			t.Errorf("Parse(%s, %q) error = %v, want it to contain %q", tc.alg, tc.text, err, tc.wantInErr)
		}
	}
}

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		line    string
		want    string // String() of the parsed pin; empty when an error is expected
		wantErr string
	}{
		{"sha256:" + sha256OfTest, "sha256:" + sha256OfTest, ""},
		{"  SHA256 : 9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08", "sha256:" + sha256OfTest, ""},
		{"sha1:" + strings.ToUpper(sha1OfTest), "sha1:" + sha1OfTest, ""},
		{"spki-sha256:" + sha256OfEmpty, "spki-sha256:" + sha256OfEmpty, ""},
		{"Spki-SHA256:" + sha256OfEmpty, "spki-sha256:" + sha256OfEmpty, ""},
		{sha256OfTest, "", "has no algorithm"},
		{"sha512:" + sha256OfTest, "", "unknown pin algorithm"},
		{"sha256:", "", "empty"},
	} {
		p, err := ParseLine(tc.line)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseLine(%q) error = %v, want %q", tc.line, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("ParseLine(%q): %v", tc.line, err)
		case p.String() != tc.want:
			t.Errorf("ParseLine(%q) = %q, want %q", tc.line, p.String(), tc.want)
		}
	}
}

func TestParseListSkipsCommentsAndBlankLinesAndNamesTheBadLine(t *testing.T) {
	text := "# pins of the API gateway\n" +
		"\n" +
		"sha256:" + sha256OfTest + "   # current certificate\r\n" +
		"   \t\n" +
		"sha1:" + sha1OfTest + "\n" +
		"spki-sha256:" + sha256OfEmpty + "#same key after renewal\n"
	pins, err := ParseList(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sha256:" + sha256OfTest, "sha1:" + sha1OfTest, "spki-sha256:" + sha256OfEmpty}
	if len(pins) != len(want) {
		t.Fatalf("ParseList returned %d pins, want %d", len(pins), len(want))
	}
	for i, p := range pins {
		if p.String() != want[i] {
			t.Errorf("pin %d = %q, want %q", i, p.String(), want[i])
		}
	}

	_, err = ParseList("# ok\nsha1:" + sha1OfTest + "\nsha1:" + sha1OfTest[:39] + "\n")
	if err == nil || !strings.HasPrefix(err.Error(), "line 3: ") {
		t.Errorf("ParseList with a bad third line: error = %v, want it to start with %q", err, "line 3: ")
	}
	if pins, err := ParseList("\n# nothing\n"); err != nil || len(pins) != 0 {
		t.Errorf("ParseList of comments only = %v, %v; want no pins, no error", pins, err)
	}
}

func TestPinTextRoundTripsThroughJSON(t *testing.T) {
	in := []Pin{{Algorithm: SHA1, Digest: mustHex(t, sha1OfTest)}}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `["sha1:`+sha1OfTest+`"]` {
		t.Errorf("JSON = %s", data)
	}
	var out []Pin
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].String() != in[0].String() {
		t.Errorf("round trip = %v, want %v", out, in)
	}
	if err := json.Unmarshal([]byte(`["sha1:xyz"]`), &out); err == nil {
		t.Error("unmarshalling a bad pin succeeded")
	}
}

func TestOfKnownAnswers(t *testing.T) {
	f := Of(&x509.Certificate{Raw: []byte("test"), RawSubjectPublicKeyInfo: []byte{}})
	if got := hex.EncodeToString(f.SHA256[:]); got != sha256OfTest {
		t.Errorf("SHA256 = %s, want %s", got, sha256OfTest)
	}
	if got := hex.EncodeToString(f.SHA1[:]); got != sha1OfTest {
		t.Errorf("SHA1 = %s, want %s", got, sha1OfTest)
	}
	if got := (Pin{Algorithm: SPKISHA256, Digest: f.SPKISHA256[:]}).String(); got != "spki-sha256:"+sha256OfEmpty {
		t.Errorf("SPKI pin = %s, want spki-sha256:%s", got, sha256OfEmpty)
	}
}

// TestOfMatchesIndependentComputation computes each fingerprint the way an
// operator would with openssl, from the PEM and from a re-encoded public
// key, rather than from the parsed fields Of reads.
func TestOfMatchesIndependentComputation(t *testing.T) {
	ca := testpki.NewCA(t, "pin test CA")
	for _, kt := range []testpki.KeyType{testpki.ECDSA, testpki.RSA} {
		cert := ca.Issue(t, testpki.Options{CommonName: "gateway", Key: kt})
		block, _ := pem.Decode(cert.CertPEM)                        // openssl x509 -outform DER
		spki, err := x509.MarshalPKIXPublicKey(cert.Leaf.PublicKey) // openssl x509 -pubkey | openssl pkey -pubin -outform DER
		if err != nil {
			t.Fatal(err)
		}
		wantSHA256, wantSHA1, wantSPKI := sha256.Sum256(block.Bytes), sha1.Sum(block.Bytes), sha256.Sum256(spki) //nolint:gosec // thumbprint.

		f := Of(cert.Leaf)
		if f.SHA256 != wantSHA256 || f.SHA1 != wantSHA1 || f.SPKISHA256 != wantSPKI {
			t.Errorf("%s key: Of() = %x/%x/%x, want %x/%x/%x", kt, f.SHA256, f.SHA1, f.SPKISHA256, wantSHA256, wantSHA1, wantSPKI)
		}
		pins := f.Pins()
		if len(pins) != 3 || !bytes.Equal(pins[0].Digest, wantSHA256[:]) || !bytes.Equal(pins[1].Digest, wantSHA1[:]) || !bytes.Equal(pins[2].Digest, wantSPKI[:]) {
			t.Errorf("%s key: Pins() = %v", kt, pins)
		}
	}
}

func TestSetContainsAnyPinnedFingerprint(t *testing.T) {
	ca := testpki.NewCA(t, "pin test CA")
	gateway, other := ca.Issue(t, testpki.Options{CommonName: "gateway"}), ca.Issue(t, testpki.Options{CommonName: "other"})
	gw, ot := Of(gateway.Leaf), Of(other.Leaf)
	for i, p := range gw.Pins() {
		set, err := NewSet([]Pin{p})
		if err != nil {
			t.Fatal(err)
		}
		if !set.Contains(&gw) {
			t.Errorf("set of %s pin does not contain its certificate", p.Algorithm)
		}
		if set.Contains(&ot) {
			t.Errorf("set of %s pin contains another certificate", p.Algorithm)
		}
		if set.Len() != 1 {
			t.Errorf("pin %d: Len() = %d, want 1", i, set.Len())
		}
	}
	both, err := NewSet(append(gw.Pins(), gw.Pins()...))
	if err != nil {
		t.Fatal(err)
	}
	if both.Len() != 3 {
		t.Errorf("Len() of duplicate pins = %d, want 3", both.Len())
	}
	var none *Set
	if none.Contains(&gw) || none.Len() != 0 {
		t.Error("a nil set contains a certificate")
	}
}

func TestNewSetRejectsMalformedPins(t *testing.T) {
	for _, p := range []Pin{
		{Algorithm: SHA256, Digest: make([]byte, 20)},
		{Algorithm: SHA1, Digest: make([]byte, 32)},
		{Algorithm: "md5", Digest: make([]byte, 16)},
		{Algorithm: SPKISHA256},
	} {
		if _, err := NewSet([]Pin{{Algorithm: SHA1, Digest: make([]byte, 20)}, p}); err == nil || !strings.HasPrefix(err.Error(), "pins[1]") {
			t.Errorf("NewSet with %s/%d-byte digest: error = %v, want one naming pins[1]", p.Algorithm, len(p.Digest), err)
		}
	}
}

// TestLineErrorRedactedNeverQuotesTheList feeds ParseList lines that a
// Secret might hold and checks that Redacted gives the line number and what
// is wrong, and nothing of the text: not the text, not a character of it,
// not its length.
func TestLineErrorRedactedNeverQuotesTheList(t *testing.T) {
	const canary = "S3CR3T-CANARY-7f1d"
	for _, line := range []string{
		canary,
		"sha256:" + canary,
		"sha1:" + canary,
		"spki-sha256:" + canary,
		canary + ":00",
		"sha256:" + strings.Repeat("ab", 31),
		"spki-sha256:QUFBQQ==",
		"sha1:",
	} {
		_, err := ParseList("# header\n" + line + "\n")
		var le *LineError
		if !errors.As(err, &le) {
			t.Fatalf("ParseList(%q) error = %v, want a *LineError", line, err)
		}
		got := le.Redacted()
		if le.Line != 2 || !strings.HasPrefix(got, "line 2 ") {
			t.Errorf("ParseList(%q): Redacted() = %q, want it to name line 2", line, got)
		}
		for _, leak := range []string{canary, "7f1d", "QUFBQQ", "62", "3 bytes", `"`} {
			if strings.Contains(got, leak) {
				t.Errorf("ParseList(%q): Redacted() = %q reveals %q", line, got, leak)
			}
		}
	}
}
