// Package pin parses, prints and computes pins: normalised fingerprints of a
// client certificate that a requirement accepts.
//
// Three algorithms are supported. sha256 and sha1 hash the DER certificate
// (sha1 is the "thumbprint" Windows, IIS and Azure show); spki-sha256 hashes
// the DER SubjectPublicKeyInfo, so it survives re-issuance with the same key.
// This package is the one place pin text is parsed.
package pin

import (
	"crypto/sha1" //nolint:gosec // SHA-1 thumbprints are what Windows shows; they identify, they do not sign.
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Algorithm is what a pin hashes.
type Algorithm string

// Pin algorithms, spelled as in pin lines ("sha256:…").
const (
	SHA256     Algorithm = "sha256"
	SHA1       Algorithm = "sha1"
	SPKISHA256 Algorithm = "spki-sha256"
)

// Size returns the digest length in bytes, or 0 for an unknown algorithm.
func (a Algorithm) Size() int {
	switch a {
	case SHA256, SPKISHA256:
		return sha256.Size
	case SHA1:
		return sha1.Size
	}
	return 0
}

// Pin is a normalised fingerprint.
type Pin struct {
	Algorithm Algorithm
	// Digest is the raw hash, Algorithm.Size() bytes.
	Digest []byte
}

// String returns the pin line form: "sha256:<hex>", "sha1:<hex>" or
// "spki-sha256:<base64>".
func (p Pin) String() string {
	if p.Algorithm == SPKISHA256 {
		return string(p.Algorithm) + ":" + base64.StdEncoding.EncodeToString(p.Digest)
	}
	return string(p.Algorithm) + ":" + hex.EncodeToString(p.Digest)
}

// MarshalText implements encoding.TextMarshaler with the pin line form.
func (p Pin) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseLine.
func (p *Pin) UnmarshalText(text []byte) error {
	parsed, err := ParseLine(string(text))
	if err != nil {
		return err
	}
	*p = parsed
	return nil
}

// leftToRightMark is the invisible U+200E that the Windows certificate
// dialog puts in front of the thumbprint it shows: copied from there, a
// pin would otherwise fail with "not a hex digit" on a character nobody can
// see.
const leftToRightMark = '\u200e'

// Parse reads the digest text of a pin of the given algorithm. For sha256 and
// sha1 the text is hex; colons, spaces, case and U+200E left-to-right marks
// are ignored, so "9F:86:D0…" as a browser shows it and "9f86d0…" are the
// same pin. For
// spki-sha256 the text is standard base64 (as HPKP and curl --pinnedpubkey
// print it) or hex.
func Parse(alg Algorithm, text string) (Pin, error) {
	size := alg.Size()
	if size == 0 {
		return Pin{}, syntaxError("has an unknown algorithm: want sha256, sha1 or spki-sha256",
			"unknown pin algorithm %q: want sha256, sha1 or spki-sha256", alg)
	}
	compact := strings.Map(func(r rune) rune {
		if r == ':' || r == ' ' || r == '\t' || r == leftToRightMark {
			return -1
		}
		return r
	}, strings.TrimSpace(text))
	if compact == "" {
		return Pin{}, syntaxError(fmt.Sprintf("has an empty %s pin", alg), "%s pin is empty", alg)
	}
	if alg == SPKISHA256 && len(compact) != 2*size {
		digest, err := base64.StdEncoding.DecodeString(compact)
		if err != nil {
			return Pin{}, syntaxError(fmt.Sprintf("has a %s pin that is neither base64 nor %d hex digits", alg, 2*size),
				"%s pin %q is neither base64 nor %d hex digits", alg, text, 2*size)
		}
		if len(digest) != size {
			return Pin{}, syntaxError(fmt.Sprintf("has a %s pin that does not decode to %d bytes", alg, size),
				"%s pin %q decodes to %d bytes, want %d", alg, text, len(digest), size)
		}
		return Pin{Algorithm: alg, Digest: digest}, nil
	}
	return parseHex(alg, text, compact)
}

// parseHex decodes the hex digits of a pin. Characters are checked before
// the length, so "zz" is reported as not hex rather than as two hex digits.
func parseHex(alg Algorithm, text, compact string) (Pin, error) {
	if i := strings.IndexFunc(compact, func(r rune) bool { return !isHexDigit(r) }); i >= 0 {
		bad, _ := utf8.DecodeRuneInString(compact[i:])
		return Pin{}, syntaxError(fmt.Sprintf("has a %s pin with a character that is not a hex digit", alg),
			"%s pin %q has %q, which is not a hex digit", alg, text, bad)
	}
	if len(compact) != 2*alg.Size() {
		return Pin{}, syntaxError(fmt.Sprintf("has a %s pin that is not %d hex digits long", alg, 2*alg.Size()),
			"%s pin %q has %d hex digits, want %d", alg, text, len(compact), 2*alg.Size())
	}
	digest, err := hex.DecodeString(compact)
	if err != nil { // unreachable after the checks above; kept so a digest is never partial
		return Pin{}, syntaxError(fmt.Sprintf("has a %s pin that is not hex", alg), "%s pin %q: %v", alg, text, err)
	}
	return Pin{Algorithm: alg, Digest: digest}, nil
}

func isHexDigit(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'
}

// ParseLine reads a pin line: "sha256:<hex>", "sha1:<hex>" or
// "spki-sha256:<base64>".
func ParseLine(line string) (Pin, error) {
	alg, digest, ok := strings.Cut(strings.TrimLeft(strings.TrimSpace(line), string(leftToRightMark)), ":")
	if !ok {
		return Pin{}, syntaxError("has no algorithm: write sha256:…, sha1:… or spki-sha256:…",
			"pin line %q has no algorithm: write sha256:…, sha1:… or spki-sha256:…", line)
	}
	return Parse(Algorithm(strings.ToLower(strings.TrimSpace(alg))), digest)
}

// ParseList reads a pin list, one pin line per line. Blank lines and text
// from "#" to the end of a line are ignored. An error is a *LineError.
func ParseList(text string) ([]Pin, error) {
	var pins []Pin
	for i, line := range strings.Split(text, "\n") {
		if hash := strings.IndexByte(line, '#'); hash >= 0 {
			line = line[:hash]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		p, err := ParseLine(line)
		if err != nil {
			return nil, lineError(i+1, err)
		}
		pins = append(pins, p)
	}
	return pins, nil
}

// Fingerprints are the three digests of one certificate, computed once per
// connection so that a pin check is a map lookup.
type Fingerprints struct {
	SHA256     [sha256.Size]byte
	SHA1       [sha1.Size]byte
	SPKISHA256 [sha256.Size]byte
}

// Of computes the fingerprints of a certificate.
func Of(cert *x509.Certificate) Fingerprints {
	return Fingerprints{
		SHA256:     sha256.Sum256(cert.Raw),
		SHA1:       sha1.Sum(cert.Raw), //nolint:gosec // see the import.
		SPKISHA256: sha256.Sum256(cert.RawSubjectPublicKeyInfo),
	}
}

// Pins returns the fingerprints as the three pins a policy could name.
func (f Fingerprints) Pins() []Pin {
	return []Pin{
		{Algorithm: SHA256, Digest: f.SHA256[:]},
		{Algorithm: SHA1, Digest: f.SHA1[:]},
		{Algorithm: SPKISHA256, Digest: f.SPKISHA256[:]},
	}
}

// Set is a compiled set of pins, checked against Fingerprints without
// allocating.
type Set struct {
	sha256     map[[sha256.Size]byte]struct{}
	sha1       map[[sha1.Size]byte]struct{}
	spkiSHA256 map[[sha256.Size]byte]struct{}
}

// NewSet compiles pins into a Set. Pins of unknown algorithms or wrong
// digest sizes are an error, so a set never silently drops a pin.
func NewSet(pins []Pin) (*Set, error) {
	s := &Set{
		sha256:     map[[sha256.Size]byte]struct{}{},
		sha1:       map[[sha1.Size]byte]struct{}{},
		spkiSHA256: map[[sha256.Size]byte]struct{}{},
	}
	for i, p := range pins {
		if len(p.Digest) != p.Algorithm.Size() || p.Algorithm.Size() == 0 {
			return nil, fmt.Errorf("pins[%d]: %q is not a %d-byte %s digest", i, p.String(), p.Algorithm.Size(), p.Algorithm)
		}
		switch p.Algorithm {
		case SHA256:
			s.sha256[[sha256.Size]byte(p.Digest)] = struct{}{}
		case SHA1:
			s.sha1[[sha1.Size]byte(p.Digest)] = struct{}{}
		case SPKISHA256:
			s.spkiSHA256[[sha256.Size]byte(p.Digest)] = struct{}{}
		}
	}
	return s, nil
}

// Len returns how many distinct pins the set holds. A nil Set holds none.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.sha256) + len(s.sha1) + len(s.spkiSHA256)
}

// Contains reports whether any of the certificate's fingerprints is pinned.
// A nil Set pins nothing, so it contains no certificate: a caller that
// forgot to compile its pins rejects rather than panics.
func (s *Set) Contains(f *Fingerprints) bool {
	if s == nil {
		return false
	}
	if _, ok := s.sha256[f.SHA256]; ok {
		return true
	}
	if _, ok := s.sha1[f.SHA1]; ok {
		return true
	}
	_, ok := s.spkiSHA256[f.SPKISHA256]
	return ok
}
