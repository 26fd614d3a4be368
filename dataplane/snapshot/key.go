package snapshot

import "strconv"

// redacted is the text every form of a PrivateKey prints.
const redacted = "[redacted]"

// PrivateKey is PEM key material. Every text form of it (fmt verbs, JSON,
// YAML, encoding.TextMarshaler) is redacted, so a snapshot can be printed or
// written to a golden file without leaking a key. Use Bytes for the
// material itself.
type PrivateKey []byte

// Bytes returns the PEM key material.
func (k PrivateKey) Bytes() []byte { return []byte(k) }

// String implements fmt.Stringer.
func (k PrivateKey) String() string {
	if len(k) == 0 {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, so %#v is redacted too.
func (k PrivateKey) GoString() string { return strconv.Quote(k.String()) }

// MarshalText implements encoding.TextMarshaler; JSON and YAML encoders use
// it.
func (k PrivateKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func itoa(i int) string { return strconv.Itoa(i) }
