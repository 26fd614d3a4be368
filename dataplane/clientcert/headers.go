package clientcert

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// The headers that carry a client certificate upstream. A backend behind
// certgate may trust them, so only certgate may set them.
const (
	// HeaderXFCC is Envoy's x-forwarded-client-cert.
	HeaderXFCC = "X-Forwarded-Client-Cert"
	// HeaderClientCert is RFC 9440's leaf certificate.
	HeaderClientCert = "Client-Cert"
	// HeaderClientCertChain is RFC 9440's chain, without the leaf.
	HeaderClientCertChain = "Client-Cert-Chain"
)

var clientHeaders = [...]string{HeaderXFCC, HeaderClientCert, HeaderClientCertChain}

// StripClientHeaders removes every client certificate header a client
// sent. Call it on every proxied request, on every route, policy or not: a
// backend that reads these headers cannot tell who set them.
//
// Names are compared case-insensitively with "_" equal to "-", because
// CGI-style backends (PHP, WSGI, Rack, nginx with underscores_in_headers)
// map both X_Forwarded_Client_Cert and X-Forwarded-Client-Cert to
// HTTP_X_FORWARDED_CLIENT_CERT, and Go keeps the underscore spelling as a
// separate header.
func StripClientHeaders(h http.Header) {
	for name := range h {
		if isClientHeader(name) {
			delete(h, name)
		}
	}
}

func isClientHeader(name string) bool {
	for _, want := range clientHeaders {
		if sameHeaderName(name, want) {
			return true
		}
	}
	return false
}

func sameHeaderName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := lowerASCII(a[i]), lowerASCII(b[i])
		if x == '_' {
			x = '-'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Forward strips the client's certificate headers (as StripClientHeaders)
// and adds certgate's own in the given format. Nothing is added for mode
// None or "", or when p has no certificate.
//
// Call it only for a request that passed Check. A request that failed in
// Audit mode still goes upstream, but a backend may take these headers as
// proof of authentication, so it gets StripClientHeaders only.
//
// The values are built once per connection and shared by its requests.
func Forward(h http.Header, mode snapshot.ForwardClientCert, p *Peer) {
	StripClientHeaders(h)
	if p.Leaf() == nil {
		return
	}
	switch mode {
	case snapshot.ForwardXFCC:
		h[HeaderXFCC] = []string{p.headers.xfccValue(p)}
	case snapshot.ForwardRFC9440:
		cert, chain := p.headers.rfc9440Values(p)
		h[HeaderClientCert] = []string{cert}
		if chain != "" {
			h[HeaderClientCertChain] = []string{chain}
		}
	}
}

// forwardHeaders caches a Peer's forwarded header values: they depend only
// on the certificates, which a connection cannot change.
type forwardHeaders struct {
	xfccOnce, rfcOnce sync.Once
	xfcc              string
	cert, chain       string
}

func (f *forwardHeaders) xfccValue(p *Peer) string {
	f.xfccOnce.Do(func() { f.xfcc = buildXFCC(p) })
	return f.xfcc
}

func (f *forwardHeaders) rfc9440Values(p *Peer) (cert, chain string) {
	f.rfcOnce.Do(func() { f.cert, f.chain = buildRFC9440(p) })
	return f.cert, f.chain
}

// buildXFCC writes one XFCC element in Envoy's format and key order:
// Hash (lowercase hex SHA-256 of the DER leaf), Subject (always quoted),
// then one URI= and one DNS= pair per SAN. A SAN holding a control
// character cannot be written into a header and is left out; a client
// cannot choose one here anyway, since the element is only built for a
// certificate that passed its policy.
func buildXFCC(p *Peer) string {
	var b strings.Builder
	b.WriteString("Hash=")
	b.WriteString(hex.EncodeToString(p.fingerprints.SHA256[:]))
	b.WriteString(";Subject=")
	b.WriteString(quoteXFCC(Subject(p.leaf)))
	writePairs(&b, "URI", p.uris)
	writePairs(&b, "DNS", p.leaf.DNSNames)
	return b.String()
}

func writePairs(b *strings.Builder, key string, values []string) {
	for _, v := range values {
		if hasControl(v) {
			continue
		}
		b.WriteByte(';')
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(xfccValue(v))
	}
}

// xfccValue quotes v when it holds a character XFCC gives a meaning to.
// Envoy quotes values with ',', ';', '=' or '"'; a backslash is quoted and
// escaped too, so that a parser which honours backslash escapes and one
// which only knows \" both read the value back without a quote ending it
// early.
func xfccValue(v string) string {
	if strings.ContainsAny(v, `,;="\`) {
		return quoteXFCC(v)
	}
	return v
}

var xfccEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func quoteXFCC(v string) string { return `"` + xfccEscaper.Replace(v) + `"` }

// buildRFC9440 encodes the leaf and the presented intermediates as RFC
// 9440 structured-field byte sequences (":" base64 DER ":"); the chain is
// a list in handshake order, empty when the client sent only its leaf.
func buildRFC9440(p *Peer) (cert, chain string) {
	items := make([]string, len(p.intermediates))
	for i, c := range p.intermediates {
		items[i] = byteSequence(c.Raw)
	}
	return byteSequence(p.leaf.Raw), strings.Join(items, ", ")
}

func byteSequence(der []byte) string {
	return ":" + base64.StdEncoding.EncodeToString(der) + ":"
}
