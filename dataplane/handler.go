package dataplane

import (
	"context"
	"encoding/hex"
	"net"
	"net/http"
	"time"

	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/filter"
	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// requestState is what the proxy stages of one request share: the reverse
// proxy's Rewrite and ModifyResponse read it from the request context.
type requestState struct {
	info     filter.RequestInfo
	rule     *ruleConfig
	upstream string
}

type stateKey struct{}

func stateOf(ctx context.Context) *requestState {
	return ctx.Value(stateKey{}).(*requestState)
}

type connKey struct{}

// withConnState gives every connection its client certificate cache, so a
// certificate's fingerprints are computed once per connection however many
// requests it carries.
func withConnState(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, new(clientcert.Conn))
}

// peerOf returns what the request's connection presented.
func peerOf(r *http.Request) *clientcert.Peer {
	if c, ok := r.Context().Value(connKey{}).(*clientcert.Conn); ok {
		return c.Peer(r.TLS)
	}
	return clientcert.NewPeer(r.TLS)
}

// serve handles one request on a socket whose configuration is pc: match a
// route, check the client certificate, apply filters, proxy, record.
func (d *Dataplane) serve(pc *portConfig, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	entry := accesslog.Entry{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath()}
	if d.opts.AccessLog != nil && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		if fp, ok := peerOf(r).Fingerprints(); ok {
			entry.ClientCertSHA256 = hex.EncodeToString(fp.SHA256[:])
		}
	}
	lc, route, rule := d.route(pc, sw, r, &entry)
	elapsed := time.Since(start)
	recorder := pc.fallback.unmatched
	if lc != nil {
		recorder, entry.Gateway = lc.unmatched, lc.gateway
	}
	if route != nil {
		recorder, entry.Route, entry.Rule = route.recorder, route.id, rule.label
	}
	recorder.Record(sw.status(), elapsed)
	entry.Status, entry.Duration, entry.Bytes = sw.status(), elapsed, sw.bytes
	d.opts.AccessLog.Log(&entry)
}

// route runs the request through the listener's routing and answers it. It
// returns what it matched, for the metrics and the access log.
func (d *Dataplane) route(pc *portConfig, w *statusWriter, r *http.Request, entry *accesslog.Entry) (*listenerConfig, *routeConfig, *ruleConfig) {
	// Client-supplied certificate headers never reach a backend, on any
	// route: only certgate may say what certificate a client presented.
	clientcert.StripClientHeaders(r.Header)
	host := router.HostOf(r.Host)
	lc, ok := pc.listeners.Lookup(host)
	if !ok {
		answer(w, http.StatusNotFound)
		return nil, nil, nil
	}
	if r.TLS != nil && pc.listenerFor(r.TLS.ServerName).tlsProfile != lc.tlsProfile {
		// The handshake was made under another listener's client
		// certificate settings than this Host's; serving it would bypass
		// them (RFC 9110 section 15.5.20).
		answer(w, http.StatusMisdirectedRequest)
		return lc, nil, nil
	}
	path, err := router.NormalizePath(r.URL.EscapedPath())
	if err != nil {
		answer(w, http.StatusBadRequest)
		return lc, nil, nil
	}
	m, ok := lc.table.Match(&router.Request{Host: host, Path: path, Method: r.Method, RawQuery: r.URL.RawQuery, Header: r.Header})
	if !ok {
		answer(w, http.StatusNotFound)
		return lc, nil, nil
	}
	route, rule := lc.routes[m.RouteIndex], lc.routes[m.RouteIndex].rules[m.RuleIndex]
	// A CORS preflight is answered before the certificate check: browsers
	// send preflights without credentials, and a client certificate is
	// one. The answer reveals only the CORS settings.
	if rule.filters.CORS(w, r) {
		return lc, route, rule
	}
	if d.confused(lc, m, host, path, w, r, entry) {
		return lc, route, rule
	}
	if !d.admit(rule, w, r, entry) {
		return lc, route, rule
	}
	st := &requestState{rule: rule, info: filter.RequestInfo{
		Scheme: "http", Host: host, Port: int(pc.port), Path: path, RawQuery: r.URL.RawQuery, MatchedPrefix: m.Prefix,
	}}
	if r.TLS != nil {
		st.info.Scheme = "https"
	}
	d.forward(st, w, r)
	entry.Upstream = st.upstream
	return lc, route, rule
}

// admit judges the connection's client certificate against the rule's
// requirement. It answers 403 and returns false for a request the rule
// rejects; in audit mode it only counts.
func (d *Dataplane) admit(rule *ruleConfig, w http.ResponseWriter, r *http.Request, entry *accesslog.Entry) bool {
	req := rule.requirement
	if req == nil {
		return true
	}
	peer := peerOf(r)
	reason := req.Check(peer, d.opts.Now())
	if reason == "" {
		rule.verified.Inc()
		clientcert.Forward(r.Header, req.Forward(), peer)
		return true
	}
	rule.rejected[reason].Inc()
	entry.Rejection = string(reason)
	if req.Mode() == snapshot.ModeAudit {
		// Passes, but without forwarded certificate headers: a backend
		// may take them as proof that the certificate was accepted.
		return true
	}
	answer(w, http.StatusForbidden)
	return false
}

// forward applies the rule's filters and proxies the request.
func (d *Dataplane) forward(st *requestState, w http.ResponseWriter, r *http.Request) {
	chain := st.rule.filters
	if location, code, ok := chain.Redirect(st.info); ok {
		chain.ModifyResponse(w.Header())
		w.Header().Set("Location", location)
		w.WriteHeader(code)
		return
	}
	target := st.rule.backends.pick()
	if target == nil {
		chain.ModifyResponse(w.Header())
		answer(w, http.StatusInternalServerError)
		return
	}
	ctx := context.WithValue(r.Context(), stateKey{}, st)
	if t := st.rule.timeouts.Request; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	r = r.WithContext(ctx)
	d.mirror(st, r)
	target.proxy.ServeHTTP(w, r)
}
