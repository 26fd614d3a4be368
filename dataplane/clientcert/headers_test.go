package clientcert

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// parseXFCC reads an XFCC header back into elements of key/value pairs.
// Inside quotes a backslash escapes the next character; ',' ends an
// element and ';' a pair only outside quotes. It is written from the
// format's description, not from certgate's writer, so the tests check the
// writer against the format.
func parseXFCC(t testing.TB, header string) [][][2]string {
	t.Helper()
	var (
		elems             [][][2]string
		pairs             [][2]string
		key, val          strings.Builder
		inValue, quoted   bool
		closedQuoteInPair bool
	)
	flushPair := func() {
		if key.Len() > 0 || val.Len() > 0 {
			pairs = append(pairs, [2]string{key.String(), val.String()})
		}
		key.Reset()
		val.Reset()
		inValue, closedQuoteInPair = false, false
	}
	for i := 0; i < len(header); i++ {
		c := header[i]
		switch {
		case quoted && c == '\\' && i+1 < len(header):
			i++
			val.WriteByte(header[i])
		case quoted && c == '"':
			quoted, closedQuoteInPair = false, true
		case quoted:
			val.WriteByte(c)
		case c == ';' || c == ',':
			flushPair()
			if c == ',' {
				elems, pairs = append(elems, pairs), nil
			}
		case closedQuoteInPair:
			t.Fatalf("XFCC %q: %q after a closing quote", header, c)
		case inValue && c == '"' && val.Len() == 0:
			quoted = true
		case inValue && c == '"':
			t.Fatalf("XFCC %q: unquoted value holds a quote", header)
		case !inValue && c == '=':
			inValue = true
		case inValue:
			val.WriteByte(c)
		default:
			key.WriteByte(c)
		}
	}
	if quoted {
		t.Fatalf("XFCC %q: unterminated quote", header)
	}
	flushPair()
	return append(elems, pairs)
}

func spoofedHeaders() http.Header {
	h := http.Header{
		"X-Forwarded-For":         {"10.0.0.1"},
		"X-Client-Cert":           {"kept: not a header certgate sets"},
		"Client-Certificate":      {"kept"},
		"X-Forwarded-Client-Cert": {"Hash=deadbeef;Subject=\"CN=admin\""},
		"Client-Cert":             {":AAAA:"},
		"Client-Cert-Chain":       {":AAAA:"},
	}
	// Spellings that reach the map only when set directly, or as Go keeps
	// underscores: each is the same header to a CGI-style backend.
	h["x-forwarded-client-cert"] = []string{"Hash=1"}
	h["X_Forwarded_Client_Cert"] = []string{"Hash=2"}
	h["Client_cert"] = []string{":AAAA:"}
	h["client_cert_chain"] = []string{":AAAA:"}
	return h
}

func TestStripClientHeadersRemovesEverySpelling(t *testing.T) {
	h := spoofedHeaders()
	StripClientHeaders(h)
	if len(h) != 3 || h.Get("X-Forwarded-For") == "" || h.Get("X-Client-Cert") == "" || h.Get("Client-Certificate") == "" {
		t.Errorf("after stripping: %v, want only X-Forwarded-For, X-Client-Cert and Client-Certificate", h)
	}
}

func TestForwardXFCC(t *testing.T) {
	ca := testpki.NewCA(t, "partner CA")
	cert := ca.Issue(t, testpki.Options{
		CommonName:   `gw "prod", east\1`,
		Organization: []string{"Example; Inc=1"},
		URIs:         []string{"spiffe://example.org/ns/payments/sa/gateway", "https://example.org/a;b=c,d"},
		DNSNames:     []string{"api-gateway.example.com", "gw.internal"},
	})
	h := spoofedHeaders()
	Forward(h, snapshot.ForwardXFCC, peerOf(cert))
	values := h.Values(HeaderXFCC)
	if len(values) != 1 || h.Get(HeaderClientCert) != "" || len(h["X_Forwarded_Client_Cert"]) != 0 { //nolint:staticcheck // the non-canonical spelling is the point
		t.Fatalf("headers after Forward: %v", h)
	}
	elems := parseXFCC(t, values[0])
	if len(elems) != 1 {
		t.Fatalf("XFCC %q has %d elements, want 1", values[0], len(elems))
	}
	sum := sha256.Sum256(cert.Leaf.Raw)
	want := [][2]string{
		{"Hash", hex.EncodeToString(sum[:])},
		{"Subject", `CN=gw \"prod\"\, east\\1,O=Example\; Inc=1`},
		{"URI", "spiffe://example.org/ns/payments/sa/gateway"},
		{"URI", "https://example.org/a;b=c,d"},
		{"DNS", "api-gateway.example.com"},
		{"DNS", "gw.internal"},
	}
	got := elems[0]
	if len(got) != len(want) {
		t.Fatalf("XFCC %q parses to %q, want %q", values[0], got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("pair %d = %q, want %q (header %q)", i, got[i], want[i], values[0])
		}
	}
	if !strings.HasPrefix(values[0], "Hash="+hex.EncodeToString(sum[:])+`;Subject="`) {
		t.Errorf("XFCC %q does not start with Hash then a quoted Subject", values[0])
	}
}

func TestSubjectEscapesControlCharacters(t *testing.T) {
	cert := testpki.NewCA(t, "ca").Issue(t, testpki.Options{CommonName: "line1\nsha256:00\r\x7f"})
	if got, want := Subject(cert.Leaf), `CN=line1\0Asha256:00\0D\7F`; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	h := http.Header{}
	Forward(h, snapshot.ForwardXFCC, peerOf(cert))
	if v := h.Get(HeaderXFCC); strings.ContainsAny(v, "\r\n\x7f") {
		t.Errorf("XFCC carries a control character: %q", v)
	}
}

func TestForwardRFC9440(t *testing.T) {
	root := testpki.NewCA(t, "root")
	issuing := root.Intermediate(t, testpki.CAOptions{Name: "issuing"})
	cert := issuing.Issue(t, testpki.Options{CommonName: "gateway"})
	h := spoofedHeaders()
	Forward(h, snapshot.ForwardRFC9440, peerOf(cert))
	if h.Get(HeaderXFCC) != "" || len(h.Values(HeaderClientCert)) != 1 || len(h.Values(HeaderClientCertChain)) != 1 {
		t.Fatalf("headers after Forward: %v", h)
	}
	if got := decodeByteSequences(t, h.Get(HeaderClientCert)); len(got) != 1 || !bytes.Equal(got[0], cert.Leaf.Raw) {
		t.Errorf("Client-Cert does not carry the leaf DER")
	}
	if got := decodeByteSequences(t, h.Get(HeaderClientCertChain)); len(got) != 1 || !bytes.Equal(got[0], issuing.Cert.Raw) {
		t.Errorf("Client-Cert-Chain does not carry exactly the intermediate")
	}

	h = spoofedHeaders()
	Forward(h, snapshot.ForwardRFC9440, peerOf(leafOnly(cert)))
	if h.Get(HeaderClientCert) == "" || len(h.Values(HeaderClientCertChain)) != 0 {
		t.Errorf("a leaf without intermediates: %v, want Client-Cert and no Client-Cert-Chain", h)
	}
}

// decodeByteSequences reads an RFC 8941 list of byte sequences.
func decodeByteSequences(t *testing.T, v string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if len(item) < 2 || item[0] != ':' || item[len(item)-1] != ':' {
			t.Fatalf("%q is not a byte sequence", item)
		}
		der, err := base64.StdEncoding.DecodeString(item[1 : len(item)-1])
		if err != nil {
			t.Fatalf("%q: %v", item, err)
		}
		out = append(out, der)
	}
	return out
}

func TestForwardAddsNothingWithoutCertificateOrMode(t *testing.T) {
	cert := testpki.NewCA(t, "ca").Issue(t, testpki.Options{})
	for _, tc := range []struct {
		name string
		mode snapshot.ForwardClientCert
		peer *Peer
	}{
		{"mode None", snapshot.ForwardNone, peerOf(cert)},
		{"empty mode", "", peerOf(cert)},
		{"no certificate", snapshot.ForwardXFCC, NewPeer(&tlsStateWithoutCerts)},
		{"plain HTTP", snapshot.ForwardRFC9440, NewPeer(nil)},
		{"nil peer", snapshot.ForwardXFCC, nil},
	} {
		h := spoofedHeaders()
		Forward(h, tc.mode, tc.peer)
		if len(h) != 3 {
			t.Errorf("%s: headers %v, want the client's stripped and none added", tc.name, h)
		}
	}
}

func TestForwardValuesAreBuiltOncePerConnection(t *testing.T) {
	p := peerOf(testpki.NewCA(t, "ca").Issue(t, testpki.Options{DNSNames: []string{"a.example"}}))
	Forward(http.Header{}, snapshot.ForwardXFCC, p)
	h := http.Header{}
	if allocs := testing.AllocsPerRun(50, func() { Forward(h, snapshot.ForwardXFCC, p) }); allocs > 1 {
		t.Errorf("Forward allocates %v times per request, want at most 1 (the header's value slice)", allocs)
	}
}
