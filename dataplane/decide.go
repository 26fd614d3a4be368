package dataplane

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/filter"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// Request describes one request for Explain: what a client would send,
// on which port, over which connection.
type Request struct {
	// Port is the listener port the request arrives on: a listener's Port
	// or its PublicPort.
	Port int32
	// TLS says the connection is TLS; ServerName is its SNI, empty for
	// the Host's name.
	TLS        bool
	ServerName string
	// Host is the Host header, with or without a port.
	Host string
	// Method defaults to GET.
	Method string
	// Target is the request target: an escaped path and optional query.
	Target string
	Header http.Header
	// Certificates is the chain the client presents, leaf first; none
	// means no certificate. Ignored without TLS.
	Certificates []*x509.Certificate
}

// Decision is what the data plane does with a Request, and why.
type Decision struct {
	// Status is the status certgate answers with itself (400, 403, 404,
	// 421, 500, a redirect, a CORS preflight's), or 0 when the request
	// is proxied to a backend, whose status it then carries.
	Status int `json:"status"`
	// GRPCStatus, for a gRPC call (a gRPC Content-Type) that the gateway
	// answers itself, is the status its client gets instead: HTTP 200
	// with this grpc-status. Status still says what the gateway decided,
	// as metrics and the access log count it.
	GRPCStatus *GRPCStatus `json:"grpcStatus,omitempty"`
	// Why says in one sentence what decided.
	Why      string `json:"why"`
	Gateway  string `json:"gateway,omitempty"`
	Listener string `json:"listener,omitempty"`
	// Route is "namespace/name" and Rule the rule label, as the access
	// log shows them.
	Route string `json:"route,omitempty"`
	Rule  string `json:"rule,omitempty"`
	// Policy is "namespace/name" of the ClientCertPolicy that governs the
	// rule, with its Mode; empty when the rule has no requirement.
	Policy string                   `json:"policy,omitempty"`
	Mode   snapshot.RequirementMode `json:"mode,omitempty"`
	// Reason is "pass" when the rule's requirement held, the rejection
	// reason when it did not (in Audit mode the request still passes),
	// and empty when no requirement was judged.
	Reason string `json:"reason,omitempty"`
	// GuardedBy, for path_confusion, is the policy of the rule the
	// folded path selected: the one the request would have bypassed.
	GuardedBy string `json:"guardedBy,omitempty"`
	// Location is a redirect's target.
	Location string `json:"location,omitempty"`
	// Backends are the rule's backends when the request is proxied: each
	// request goes to one, by weight.
	Backends []Backend `json:"backends,omitempty"`
}

// Backend is one backend of a proxied request's rule.
type Backend struct {
	// Name is "namespace/service:port".
	Name   string `json:"name"`
	Weight int32  `json:"weight"`
	// Invalid says why the reference did not resolve: requests sent to
	// this backend are answered 500.
	Invalid string `json:"invalid,omitempty"`
	// Endpoints is the number of ready endpoints; with none, requests
	// sent to this backend are answered 503.
	Endpoints int `json:"endpoints"`
}

// ReasonPass is Decision.Reason for a request whose requirement held.
const ReasonPass = "pass"

// Explain compiles s as Apply does, without opening a socket, and returns
// what the data plane would do with req at time now. The decision steps
// are the request handler's own; only what needs a live connection (the
// TLS handshake, the body, proxying) is not run.
func Explain(s *snapshot.Snapshot, now time.Time, req Request) (*Decision, error) {
	d := New(Options{Metrics: metrics.New(), Now: func() time.Time { return now }})
	ports, err := d.build(s)
	if err != nil {
		return nil, err
	}
	pc, err := portOf(ports, req.Port)
	if err != nil {
		return nil, err
	}
	r, err := req.httpRequest()
	if err != nil {
		return nil, err
	}
	dec := d.decide(pc, r)
	explainGRPC(dec, r)
	return dec, nil
}

// portOf finds the socket configuration that serves port, by bound or
// public port. With several addresses on one port, the first in address
// order is taken.
func portOf(ports map[string]*portConfig, port int32) (*portConfig, error) {
	addrs := make([]string, 0, len(ports))
	for addr := range ports {
		addrs = append(addrs, addr)
	}
	slices.Sort(addrs)
	var known []string
	for _, addr := range addrs {
		_, p, _ := net.SplitHostPort(addr)
		if p == strconv.Itoa(int(port)) || ports[addr].port == port {
			return ports[addr], nil
		}
		known = append(known, addr)
	}
	return nil, fmt.Errorf("no listener on port %d (listeners: %v)", port, known)
}

// httpRequest builds the request as net/http would hand it to the handler.
func (req Request) httpRequest() (*http.Request, error) {
	target := req.Target
	if target == "" {
		target = "/"
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("request target %q: %w", target, err)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	header := req.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	r := &http.Request{Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: header, Host: req.Host}
	if req.TLS {
		sni := req.ServerName
		if sni == "" {
			sni = router.HostOf(req.Host)
		}
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, ServerName: sni, PeerCertificates: req.Certificates}
	} else if len(req.Certificates) > 0 {
		return nil, errors.New("a client certificate needs a TLS connection")
	}
	return r, nil
}

// decide runs r through the handler's decision steps, in its order.
func (d *Dataplane) decide(pc *portConfig, r *http.Request) *Decision {
	w := &headerRecorder{header: http.Header{}}
	if screen(w, r) {
		return &Decision{Status: w.code, Why: "refused by the gateway's protocol rules before routing"}
	}
	clientcert.StripClientHeaders(r.Header)
	res := pc.resolve(r)
	dec := &Decision{Status: res.status}
	if res.lc != nil {
		dec.Gateway, dec.Listener = res.lc.gateway, res.lc.name
	}
	switch {
	case res.status == http.StatusNotFound && res.lc == nil:
		dec.Why = fmt.Sprintf("no listener on this port accepts host %q", res.host)
	case res.status == http.StatusMisdirectedRequest:
		dec.Why = fmt.Sprintf("the handshake (SNI %q) chose a listener with other client certificate settings than host %q", r.TLS.ServerName, res.host)
	case res.status == http.StatusBadRequest:
		dec.Why = fmt.Sprintf("the path cannot be normalised: %v", res.err)
	case res.status == http.StatusNotFound:
		dec.Why = "no route rule of the listener matches"
	}
	if res.status != 0 {
		return dec
	}
	d.decideRule(dec, &res, pc, r, w)
	return dec
}

// decideRule is decide after a rule matched: CORS preflight, path
// confusion, the requirement, then redirect or backend.
func (d *Dataplane) decideRule(dec *Decision, res *resolution, pc *portConfig, r *http.Request, w *headerRecorder) {
	route, rule := res.rule()
	dec.Route, dec.Rule = route.id, rule.label
	if rule.requirement != nil {
		dec.Policy, dec.Mode = rule.requirement.Policy(), rule.requirement.Mode()
	}
	if rule.filters.CORS(w, r) {
		dec.Status, dec.Why = w.code, "CORS preflight, answered before the client certificate check"
		return
	}
	peer := clientcert.NewPeer(r.TLS)
	now := d.opts.Now()
	if guarded := res.lc.bypassed(res.m, res.match, peer, now); guarded != nil {
		dec.Reason, dec.GuardedBy = string(clientcert.ReasonPathConfusion), guarded.requirement.Policy()
		if guarded.requirement.Mode() != snapshot.ModeAudit {
			dec.Status, dec.Why = http.StatusForbidden, "the path, read as common backends read it, selects a rule whose policy the client does not satisfy"
			return
		}
	}
	if rule.requirement != nil {
		if reason := rule.requirement.Check(peer, now); reason != "" {
			dec.Reason = string(reason)
			if rule.requirement.Mode() != snapshot.ModeAudit {
				dec.Status, dec.Why = http.StatusForbidden, rejectionWhy(reason, rule.requirement.Problem())
				return
			}
		} else if dec.Reason == "" {
			dec.Reason = ReasonPass
		}
	}
	decideForward(dec, rule, res.info(pc, r))
}

// decideForward is forward's decision: redirect, no backend, or proxy.
func decideForward(dec *Decision, rule *ruleConfig, info filter.RequestInfo) {
	audit := ""
	if dec.Reason != "" && dec.Reason != ReasonPass {
		audit = " (the " + dec.Reason + " rejection is only counted: Audit mode)"
	}
	if location, code, ok := rule.filters.Redirect(info); ok {
		dec.Status, dec.Location, dec.Why = code, location, "the rule redirects"+audit
		return
	}
	dec.Backends = backendsOf(rule.backends.backends)
	if !slices.ContainsFunc(dec.Backends, func(b Backend) bool { return b.Weight > 0 && b.Invalid == "" }) {
		dec.Status, dec.Why = http.StatusInternalServerError, "the rule has no valid backend"+audit
		return
	}
	dec.Why = "the rule's backends receive it, by weight" + audit
}

// rejectionWhy says what a rejection reason means for this request.
func rejectionWhy(reason clientcert.Reason, problem string) string {
	switch reason {
	case clientcert.ReasonPolicyInvalid:
		return "the rule's policy cannot be used, so it rejects every request: " + problem
	case clientcert.ReasonNoTLS:
		return "the request came over plain HTTP, where no client certificate can be presented"
	case clientcert.ReasonMissing:
		return "the client presented no certificate"
	case clientcert.ReasonUntrusted:
		return "the certificate chain does not verify to the policy's CA certificates"
	case clientcert.ReasonExpired:
		return "the certificate is outside its validity period"
	case clientcert.ReasonPinMismatch:
		return "the certificate matches none of the policy's pins"
	case clientcert.ReasonSANMismatch:
		return "the certificate carries none of the policy's subject alternative names"
	}
	return "the client certificate fails the rule's policy"
}

// backendsOf lists a rule's backends as Explain shows them.
func backendsOf(backends []snapshot.WeightedBackend) []Backend {
	out := make([]Backend, 0, len(backends))
	for _, b := range backends {
		out = append(out, Backend{Name: b.Name, Weight: b.Weight, Invalid: b.Invalid, Endpoints: len(b.Endpoints)})
	}
	return out
}

// headerRecorder is the ResponseWriter of decide: it keeps the status the
// handler's steps would answer with and discards the body.
type headerRecorder struct {
	header http.Header
	code   int
}

func (w *headerRecorder) Header() http.Header { return w.header }

func (w *headerRecorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(b), nil
}

func (w *headerRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
