package clientcert

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
)

// Subject returns the certificate's subject as an RFC 4514 string ("CN=…,
// O=…", most specific first). It is decoded from the raw subject, so
// attributes keep the order and grouping the issuer gave them, which
// pkix.Name.String would normalise. Control characters, which a subject may
// carry but a header or log line must not, are written as RFC 4514 "\XX"
// hex escapes, so the result is still a valid distinguished name.
func Subject(cert *x509.Certificate) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(cert.RawSubject, &rdns); err != nil || len(rest) != 0 {
		return escapeControl(cert.Subject.String())
	}
	return escapeControl(rdns.String())
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}

func escapeControl(s string) string {
	if !hasControl(s) {
		return s
	}
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			b.WriteByte('\\')
			b.WriteByte(digits[c>>4])
			b.WriteByte(digits[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
