package dataplane_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// wireBackend is a loopback backend that records the raw head of every
// request it reads and answers each with the bytes of answer.
type wireBackend struct {
	ln     net.Listener
	mu     sync.Mutex
	answer string
	heads  []string
}

func newWireBackend(t testing.TB) *wireBackend {
	t.Helper()
	return serveWire(t, nil)
}

// serveWire starts a wireBackend, behind TLS with cfg when it is set.
func serveWire(t testing.TB, cfg *tls.Config) *wireBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &wireBackend{ln: ln}
	accept := ln
	if cfg != nil {
		accept = tls.NewListener(ln, cfg)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := accept.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { b.serve(c) })
		}
	})
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return b
}

// serve reads request heads (the requests compared have no body) until
// the connection closes or stays idle for a second.
func (b *wireBackend) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		_ = c.SetDeadline(time.Now().Add(time.Second))
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		b.mu.Lock()
		b.heads = append(b.heads, head.String())
		answer := b.answer
		b.mu.Unlock()
		if _, err := io.WriteString(c, answer); err != nil {
			return
		}
	}
}

// exchange sets the answer, runs send, and returns the request head the
// backend read meanwhile, "" for none.
func (b *wireBackend) exchange(t testing.TB, answer string, send func()) string {
	t.Helper()
	b.mu.Lock()
	b.answer, b.heads = answer, nil
	b.mu.Unlock()
	send()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.heads) > 1 {
		t.Fatalf("backend read %d requests, want 1: %q", len(b.heads), b.heads)
	}
	return strings.Join(b.heads, "")
}

// newTLSWireBackend is a wireBackend behind TLS with cert that requires a
// client certificate from clientCA, and records the client certificate's
// common name and the protocols offered by ALPN of every handshake.
func newTLSWireBackend(t testing.TB, cert *testpki.Cert, clientCA *testpki.CA) (*wireBackend, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var hellos []string
	cfg := &tls.Config{
		Certificates: []tls.Certificate{*cert.TLS}, MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCA.Pool(),
		VerifyConnection: func(cs tls.ConnectionState) error {
			mu.Lock()
			defer mu.Unlock()
			hellos = append(hellos, cs.PeerCertificates[0].Subject.CommonName+" alpn="+cs.NegotiatedProtocol)
			return nil
		},
	}
	return serveWire(t, cfg), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(hellos)
	}
}

func (b *wireBackend) backend() snapshot.Backend {
	addr := b.ln.Addr().(*net.TCPAddr)
	return snapshot.Backend{
		Name: "default/wire:80", Namespace: "default", Service: "wire", Port: 80,
		Endpoints: []snapshot.Endpoint{{Address: addr.IP.String(), Port: int32(addr.Port)}},
	}
}

// received is what a client read back, with the Date field taken out:
// the informational responses, then the final one.
type received struct {
	Informational []int
	Status        int
	Header        http.Header
	Body          string
	Trailer       http.Header
}

// sendRaw writes request on a new connection to port, over TLS when cfg
// is set, and reads the response to it.
func sendRaw(t testing.TB, port int32, cfg *tls.Config, method, request string) received {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		c = tls.Client(c, cfg)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	var got received
	br := bufio.NewReader(c)
	for {
		res, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode < 200 {
			got.Informational = append(got.Informational, res.StatusCode)
			continue
		}
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		res.Header.Del("Date")
		got.Status, got.Header, got.Body, got.Trailer = res.StatusCode, res.Header, string(body), res.Trailer
		return got
	}
}

// requestID is the one field that differs between any two requests.
var requestID = regexp.MustCompile(`(?m)^X-Request-Id: [^\r]*\r$`)

func withoutRequestID(head string) string {
	return requestID.ReplaceAllString(head, "X-Request-Id: -\r")
}

// pathPair is a gateway with the same routes twice: on direct, where
// simple requests take the direct path, and on proxied, where a retry
// policy (never used: no answer makes it retry) sends every request
// through the reverse proxy. The mTLS pair does the same on HTTPS
// listeners with routes that forward the client certificate.
type pathPair struct {
	g                     *gateway
	be                    *wireBackend
	direct, proxied       int32
	mtlsDirect, mtlsProxy int32
	client                *tls.Config
}

func newPathPair(t testing.TB) *pathPair {
	g := newGateway(t)
	be := newWireBackend(t)
	pki := newPKI(t)
	p := &pathPair{g: g, be: be, direct: freePort(t), proxied: freePort(t), mtlsDirect: freePort(t), mtlsProxy: freePort(t)}
	p.client = tlsClient(pki.servingCA, pki.pinned)
	p.client.ServerName = "api.example.com"
	weighted := snapshot.WeightedBackend{Weight: 1, Backend: be.backend()}
	retry := &snapshot.Retry{Attempts: 1}
	serving := []*testpki.Cert{pki.serving}
	g.apply(
		httpListener("direct", p.direct, route("r", nil, filterRules(weighted, nil)...)),
		httpListener("proxied", p.proxied, route("r", nil, filterRules(weighted, retry)...)),
		httpsListener("mtls-direct", p.mtlsDirect, "", serving, route("r", nil, certRules(pki, weighted, nil)...)),
		httpsListener("mtls-proxied", p.mtlsProxy, "", serving, route("r", nil, certRules(pki, weighted, retry)...)),
	)
	return p
}

// filterRules are rules without and with each filter the direct path
// applies.
func filterRules(weighted snapshot.WeightedBackend, retry *snapshot.Retry) []snapshot.Rule {
	plain := prefixRule("/", weighted)
	headers := prefixRule("/filtered/", weighted)
	headers.Filters = []snapshot.Filter{
		{Type: snapshot.FilterRequestHeaderModifier, RequestHeaderModifier: &snapshot.HeaderModifier{
			Set:    []snapshot.Header{{Name: "x-set", Value: "set"}, {Name: "Host", Value: "inner.example"}, {Name: "X-Forwarded-Proto", Value: "gopher"}, {Name: "X-Padded", Value: " \t padded \t "}},
			Add:    []snapshot.Header{{Name: "X-Add", Value: "added"}, {Name: "X-Forwarded-For", Value: "192.0.2.9"}, {Name: "Client-Cert", Value: ":forged:"}},
			Remove: []string{"accept", "X-Forwarded-Host"},
		}},
		{Type: snapshot.FilterResponseHeaderModifier, ResponseHeaderModifier: &snapshot.HeaderModifier{
			Set: []snapshot.Header{{Name: "X-Response", Value: "yes"}}, Remove: []string{"Server"},
		}},
	}
	rewritten := prefixRule("/rewrite/", weighted)
	host := "backend.example"
	rewritten.Filters = []snapshot.Filter{{Type: snapshot.FilterURLRewrite, URLRewrite: &snapshot.Rewrite{
		Hostname: &host, Path: &snapshot.PathModifier{Type: snapshot.ReplacePrefixMatch, ReplacePrefixMatch: "/v2"},
	}}}
	cors := prefixRule("/cors/", weighted)
	cors.Filters = []snapshot.Filter{{Type: snapshot.FilterCORS, CORS: &snapshot.CORS{
		AllowOrigins: []string{"https://app.example"}, ExposeHeaders: []string{"X-Total"},
	}}}
	timed := prefixRule("/timed/", weighted)
	timed.Timeouts = snapshot.Timeouts{Request: 5 * time.Second, BackendRequest: 4 * time.Second}
	return withRetry(retry, plain, headers, rewritten, cors, timed)
}

// certRules pin the client certificate and forward it, in both forms and
// not at all, or only audit it.
func certRules(p *pki, weighted snapshot.WeightedBackend, retry *snapshot.Retry) []snapshot.Rule {
	pins := []pin.Pin{pinOf(p.pinned, pin.SHA256)}
	requirement := func(forward snapshot.ForwardClientCert, mode snapshot.RequirementMode) *snapshot.Requirement {
		return &snapshot.Requirement{Policy: "default/p", Pins: pins, ForwardClientCert: forward, Mode: mode}
	}
	audited := requirement(snapshot.ForwardXFCC, snapshot.ModeAudit)
	audited.Pins = []pin.Pin{pinOf(p.unpinned, pin.SHA256)}
	return withRetry(retry,
		requireRule("/xfcc", requirement(snapshot.ForwardXFCC, ""), weighted),
		requireRule("/rfc9440", requirement(snapshot.ForwardRFC9440, ""), weighted),
		requireRule("/none", requirement("", ""), weighted),
		requireRule("/audit", audited, weighted),
		prefixRule("/", weighted))
}

func withRetry(retry *snapshot.Retry, rules ...snapshot.Rule) []snapshot.Rule {
	for i := range rules {
		rules[i].Retry = retry
	}
	return rules
}

// compare sends request to both sides of the plaintext pair and fails the
// test unless the backend read the same bytes and the client got the
// same response, the backend's.
func (p *pathPair) compare(t testing.TB, request, answer string) {
	t.Helper()
	p.compareAnswered(t, [2]int32{p.direct, p.proxied}, nil, request, answer)
}

// compareAnswered compares on ports and requires the backend's status.
func (p *pathPair) compareAnswered(t testing.TB, ports [2]int32, cfg *tls.Config, request, answer string) {
	t.Helper()
	method, _, _ := strings.Cut(request, " ")
	got := p.compareOn(t, ports, cfg, request, answer)
	if want := finalStatus(t, method, answer); got.Status != want {
		t.Errorf("status %d, want the backend's %d", got.Status, want)
	}
}

// compareOn compares on ports, the direct side first, over TLS with cfg
// when it is set, and returns what the client got.
func (p *pathPair) compareOn(t testing.TB, ports [2]int32, cfg *tls.Config, request, answer string) received {
	t.Helper()
	method, _, _ := strings.Cut(request, " ")
	if r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(request))); err == nil {
		r.RemoteAddr = "127.0.0.1:1"
		if cfg != nil {
			r.TLS = &tls.ConnectionState{ServerName: cfg.ServerName}
		}
		if !p.g.dp.TakesDirectPath(int(ports[0]), r) {
			t.Fatalf("request does not take the direct path:\n%s", request)
		}
		if p.g.dp.TakesDirectPath(int(ports[1]), r) {
			t.Fatalf("request takes the direct path on the proxied side:\n%s", request)
		}
	}
	var viaDirect, viaProxy received
	direct := p.be.exchange(t, answer, func() { viaDirect = sendRaw(t, ports[0], cfg, method, request) })
	proxied := p.be.exchange(t, answer, func() { viaProxy = sendRaw(t, ports[1], cfg, method, request) })
	if withoutRequestID(direct) != withoutRequestID(proxied) {
		t.Errorf("the backend read\n%s\non the direct path and\n%s\nthrough the reverse proxy, for\n%s", direct, proxied, request)
	}
	if !reflect.DeepEqual(viaDirect, viaProxy) {
		t.Errorf("the client got\n%+v\non the direct path and\n%+v\nthrough the reverse proxy, for\n%s", viaDirect, viaProxy, request)
	}
	return viaDirect
}

// finalStatus is the status of the last response in answer.
func finalStatus(t testing.TB, method, answer string) int {
	br := bufio.NewReader(strings.NewReader(answer))
	for {
		res, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode >= 200 {
			return res.StatusCode
		}
	}
}

// okAnswer is a plain backend answer.
const okAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nServer: wire\r\n\r\n{\"ok\":true}"

// TestDirectPathSendsWhatTheReverseProxySends proves the direct path
// byte for byte against the reverse proxy on what protects backends:
// hop-by-hop fields, the fields Connection names, X-Forwarded-* and
// Forwarded from clients, client certificate fields from clients, path
// normalisation, header filters and rewrites, and on the response the
// client gets back: hop-by-hop fields dropped, trailers, 1xx, HEAD, 204.
func TestDirectPathSendsWhatTheReverseProxySends(t *testing.T) {
	p := newPathPair(t)
	const h = "Host: api.example.com\r\n"
	requests := map[string]string{
		"plain":            "GET /items?page=1&sort=asc HTTP/1.1\r\n" + h + "User-Agent: curl/8\r\nAccept: */*\r\n\r\n",
		"no user agent":    "GET / HTTP/1.1\r\n" + h + "\r\n",
		"two user agents":  "GET / HTTP/1.1\r\n" + h + "User-Agent: a\r\nUser-Agent: b\r\n\r\n",
		"empty value":      "GET / HTTP/1.1\r\n" + h + "User-Agent:\r\nX-Empty:\r\nX-Spaced:   padded  \r\n\r\n",
		"head":             "HEAD /items HTTP/1.1\r\n" + h + "\r\n",
		"options":          "OPTIONS /items HTTP/1.1\r\n" + h + "\r\n",
		"content length 0": "GET /items HTTP/1.1\r\n" + h + "Content-Length: 0\r\n\r\n",
		"hop by hop": "GET / HTTP/1.1\r\n" + h + "Connection: keep-alive, X-Hop, x-forwarded-for\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n" +
			"Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\nTE: gzip, trailers\r\nTrailer: X-Sum\r\nX-Forwarded-For: 198.51.100.1\r\n\r\n",
		"te without trailers": "GET / HTTP/1.1\r\n" + h + "TE: gzip\r\n\r\n",
		"connection close":    "GET / HTTP/1.1\r\n" + h + "Connection: close\r\n\r\n",
		"forwarded from client": "GET / HTTP/1.1\r\n" + h + "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n" +
			"X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nForwarded: for=192.0.2.60;proto=https\r\n\r\n",
		"client certificate fields": "GET / HTTP/1.1\r\n" + h + "X-Forwarded-Client-Cert: Hash=forged\r\nClient-Cert: :ZXZpbA==:\r\n" +
			"Client-Cert-Chain: :ZXZpbA==:\r\nX_Forwarded_Client_Cert: Hash=forged\r\n\r\n",
		"dot segments":     "GET /a/./b/../../c//d/%2e%2e/e?x=1 HTTP/1.1\r\n" + h + "\r\n",
		"encoded path":     "GET /caf%C3%A9/%7Euser/a%20b HTTP/1.1\r\n" + h + "\r\n",
		"odd query":        "GET /q?a=%zz;b=1&&c HTTP/1.1\r\n" + h + "\r\n",
		"empty query":      "GET /q? HTTP/1.1\r\n" + h + "\r\n",
		"obs-text":         "GET / HTTP/1.1\r\n" + h + "X-Name: caf\xc3\xa9\r\n\r\n",
		"many fields":      "GET / HTTP/1.1\r\n" + h + "Cookie: a=1\r\nCookie: b=2\r\nAccept-Encoding: gzip\r\nX-B: 2\r\nX-A: 1\r\nx-lower: 3\r\n\r\n",
		"expect":           "GET / HTTP/1.1\r\n" + h + "Expect: 100-continue\r\n\r\n",
		"http 1.0":         "GET /old HTTP/1.0\r\n" + h + "\r\n",
		"http 1.0 no host": "GET /old HTTP/1.0\r\nUser-Agent: ancient\r\n\r\n",
		"host with port":   "GET / HTTP/1.1\r\nHost: API.Example.com:8080\r\n\r\n",
		"header filters":   "GET /filtered/x HTTP/1.1\r\n" + h + "X-Set: client\r\nX-Add: client\r\nAccept: text/html\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n",
		"url rewrite":      "GET /rewrite/deep/path?k=v HTTP/1.1\r\n" + h + "\r\n",
		"cors":             "GET /cors/x HTTP/1.1\r\n" + h + "Origin: https://app.example\r\n\r\n",
		"timeouts":         "GET /timed/x HTTP/1.1\r\n" + h + "\r\n",
	}
	for name, request := range requests {
		t.Run(name, func(t *testing.T) { p.compare(t, request, okAnswer) })
	}
	answers := map[string]struct{ request, answer string }{
		"hop by hop in response": {"GET / HTTP/1.1\r\n" + h + "\r\n",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nok"},
		"chunked with trailers": {"GET / HTTP/1.1\r\n" + h + "\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 9\r\n\r\n"},
		"undeclared trailer": {"GET / HTTP/1.1\r\n" + h + "\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Late: 1\r\n\r\n"},
		"event stream": {"GET / HTTP/1.1\r\n" + h + "\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nContent-Length: 12\r\n\r\ndata: one\n\n\n"},
		"early hints": {"GET / HTTP/1.1\r\n" + h + "\r\n",
			"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + okAnswer},
		"head with length": {"HEAD / HTTP/1.1\r\n" + h + "\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"},
		"no content":       {"GET / HTTP/1.1\r\n" + h + "\r\n", "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"},
		"not modified":     {"GET / HTTP/1.1\r\n" + h + "If-None-Match: \"x\"\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\n\r\n"},
		"cors response": {"GET /cors/x HTTP/1.1\r\n" + h + "Origin: https://app.example\r\n\r\n",
			"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nVary: Accept\r\nContent-Length: 0\r\n\r\n"},
		"response filters": {"GET /filtered/ HTTP/1.1\r\n" + h + "\r\n", okAnswer},
		"server error":     {"GET / HTTP/1.1\r\n" + h + "\r\n", "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy"},
	}
	for name, c := range answers {
		t.Run(name, func(t *testing.T) { p.compare(t, c.request, c.answer) })
	}
}

// TestTLSBackendGetsWhatTheReverseProxySends compares the two paths to a
// backend behind TLS that requires the gateway's client certificate
// (a BackendTLSPolicy with a client certificate): the same request bytes,
// the same response, over a connection the backend verified, with no
// protocol offered by ALPN on either.
func TestTLSBackendGetsWhatTheReverseProxySends(t *testing.T) {
	backendCA, gatewayCA := testpki.NewCA(t, "backend CA"), testpki.NewCA(t, "gateway CA")
	serving := backendCA.Issue(t, testpki.Options{CommonName: "payments", DNSNames: []string{"payments.internal"}})
	identity := gatewayCA.Issue(t, testpki.Options{CommonName: "gateway"})
	be, hellos := newTLSWireBackend(t, serving, gatewayCA)
	weighted := snapshot.WeightedBackend{Weight: 1, Backend: be.backend()}
	weighted.TLS = &snapshot.BackendTLS{
		ServerName:        "payments.internal",
		CACertificates:    []snapshot.CACertificate{{Name: "default/backend-ca", PEM: backendCA.PEM}},
		ClientCertificate: &snapshot.Certificate{Name: "default/gateway", CertPEM: identity.CertPEM, Key: snapshot.PrivateKey(identity.KeyPEM)},
	}
	g := newGateway(t)
	p := &pathPair{g: g, be: be, direct: freePort(t), proxied: freePort(t)}
	g.apply(
		httpListener("direct", p.direct, route("r", nil, filterRules(weighted, nil)...)),
		httpListener("proxied", p.proxied, route("r", nil, filterRules(weighted, &snapshot.Retry{Attempts: 1})...)),
	)
	const h = "Host: api.example.com\r\n"
	for name, request := range map[string]string{
		"plain":          "GET /items?page=1 HTTP/1.1\r\n" + h + "User-Agent: curl/8\r\nAccept: */*\r\n\r\n",
		"head":           "HEAD /items HTTP/1.1\r\n" + h + "\r\n",
		"header filters": "GET /filtered/x HTTP/1.1\r\n" + h + "X-Set: client\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) { p.compare(t, request, okAnswer) })
	}
	for _, hello := range hellos() {
		if hello != "gateway alpn=" {
			t.Errorf("a backend connection was %q, want the gateway's certificate and no ALPN protocol", hello)
		}
	}
	if len(hellos()) < 2 {
		t.Errorf("%d backend connections, want one per path at least", len(hellos()))
	}
}

// TestDirectPathForwardsClientCertificatesAsTheReverseProxyDoes compares
// the two paths on pinned routes: the certificate certgate forwards, in
// each form, replaces whatever the client sent, and a route that
// forwards nothing or only audits strips the client's.
func TestDirectPathForwardsClientCertificatesAsTheReverseProxyDoes(t *testing.T) {
	p := newPathPair(t)
	spoofed := "X-Forwarded-Client-Cert: Hash=forged\r\nClient-Cert: :ZXZpbA==:\r\nClient-Cert-Chain: :ZXZpbA==:\r\nX_Forwarded_Client_Cert: x\r\n"
	for _, path := range []string{"/xfcc", "/rfc9440", "/none", "/audit", "/public"} {
		t.Run(path, func(t *testing.T) {
			request := "GET " + path + " HTTP/1.1\r\nHost: api.example.com\r\n" + spoofed + "\r\n"
			p.compareAnswered(t, [2]int32{p.mtlsDirect, p.mtlsProxy}, p.client, request, okAnswer)
		})
	}
}

// FuzzDirectPathSendsWhatTheReverseProxySends sends the fields of the
// fuzzer's request through both paths; whatever net/http lets through to
// the handler, the backend must read the same bytes from both.
func FuzzDirectPathSendsWhatTheReverseProxySends(f *testing.F) {
	for _, seed := range []struct{ target, fields string }{
		{"/", "Accept: */*\r\n"},
		{"/a/../b?x=%zz", "Connection: X-A, close\r\nX-A: 1\r\n"},
		{"/filtered/z", "X-Forwarded-For: 1.2.3.4\r\nTE: trailers\r\n"},
		{"/rewrite/", "Host2: x\r\nX-Forwarded-Client-Cert: forged\r\n"},
		{"//x/%2F", "User-Agent: \t a \t\r\nUpgrade-Insecure-Requests: 1\r\n"},
	} {
		f.Add(seed.target, seed.fields)
	}
	p := newPathPair(f)
	f.Fuzz(func(t *testing.T, target, fields string) {
		request := "GET " + target + " HTTP/1.1\r\nHost: api.example.com\r\n" + fields + "\r\n"
		br := bufio.NewReader(strings.NewReader(request))
		r, err := http.ReadRequest(br)
		if err != nil || br.Buffered() > 0 {
			return // not a request the handler would see, or not one request
		}
		r.RemoteAddr = "127.0.0.1:1"
		if !p.g.dp.TakesDirectPath(int(p.direct), r) {
			return
		}
		// The server may refuse what ReadRequest took: then both must.
		p.compareOn(t, [2]int32{p.direct, p.proxied}, nil, request, okAnswer)
	})
}
