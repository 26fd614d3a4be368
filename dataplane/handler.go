package dataplane

import (
	"context"
	"crypto/tls"
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
	info filter.RequestInfo
	// match is what the route table matched, kept to judge a WebSocket
	// tunnel again after a configuration change.
	match *router.Request
	route *routeConfig
	rule  *ruleConfig
	// identity is the client certificate forwarded upstream: nil unless
	// the rule's requirement passed.
	identity *clientcert.Peer
	// body is the request body, nil for a request without one.
	body     *clientBody
	upstream string
	// direct is the exchange of a request on the direct path, kept here
	// to spare it an allocation of its own.
	direct directExchange
}

type stateKey struct{}

func stateOf(ctx context.Context) *requestState {
	return ctx.Value(stateKey{}).(*requestState)
}

type connKey struct{}

// socketKey holds, in every connection's context, the socket it came in on.
type socketKey struct{}

// connState is what the data plane keeps per connection: the client
// certificate cache, so that a certificate's fingerprints are computed
// once per connection however many requests it carries, and, on TLS, the
// connection that recorded which listener its handshake chose
// (noteListener), for neverAsked.
type connState struct {
	cert      clientcert.Conn
	handshake *countedConn
	// transport is the client's socket beneath TLS (transport): what a
	// tunnel closes to end at once.
	transport net.Conn
}

// withConnState gives a connection's context its connState.
func withConnState(ctx context.Context, c net.Conn) context.Context {
	cs := &connState{transport: transport(c)}
	if r, ok := c.(*replayConn); ok {
		c = r.Conn
	}
	if tc, ok := c.(*tls.Conn); ok {
		cs.handshake, _ = counted(tc.NetConn())
	}
	return context.WithValue(ctx, connKey{}, cs)
}

// transport returns the socket beneath c's TLS and certgate's own reading
// layers. Closing it ends the connection at once: nothing the client sends
// afterwards is read, and no TLS close_notify is written first, which a
// client that does not read could hold the closing goroutine up with.
func transport(c net.Conn) net.Conn {
	for {
		switch w := c.(type) {
		case *replayConn:
			c = w.Conn
		case *framingConn:
			c = w.Conn
		case *tls.Conn:
			c = w.NetConn()
		default:
			return c
		}
	}
}

// transportOf returns the socket r came in on (see transport), nil when
// its connection has no connState.
func transportOf(r *http.Request) net.Conn {
	if cs, ok := r.Context().Value(connKey{}).(*connState); ok {
		return cs.transport
	}
	return nil
}

// peerOf returns what the request's connection presented.
func peerOf(r *http.Request) *clientcert.Peer {
	if cs, ok := r.Context().Value(connKey{}).(*connState); ok {
		return cs.cert.Peer(r.TLS)
	}
	return clientcert.NewPeer(r.TLS)
}

// serve handles one request on a socket whose configuration is pc: screen
// it, match a route, check the client certificate, apply filters, proxy,
// record.
func (d *Dataplane) serve(pc *portConfig, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, grpc: isGRPC(r)}
	entry := accesslog.Begin(r)
	r.Header.Set(accesslog.RequestIDHeader, entry.RequestID)
	var (
		lc    *listenerConfig
		route *routeConfig
		rule  *ruleConfig
	)
	if !screen(sw, r) {
		lc, route, rule = d.route(pc, sw, r, &entry)
	}
	elapsed := time.Since(start)
	recorder := pc.fallback.unmatched
	if lc != nil {
		recorder, entry.Gateway = lc.unmatched, lc.gateway
	}
	if route != nil {
		recorder, entry.Route, entry.Rule = route.recorder, route.id, rule.label
	}
	recorder.Record(r.Method, sw.status(), elapsed)
	entry.Status, entry.Duration, entry.Bytes = sw.status(), elapsed, sw.bytes
	d.opts.AccessLog.Log(&entry)
}

// route runs the request through the listener's routing and answers it. It
// returns what it matched, for the metrics and the access log.
func (d *Dataplane) route(pc *portConfig, w *statusWriter, r *http.Request, entry *accesslog.Entry) (*listenerConfig, *routeConfig, *ruleConfig) {
	// Client-supplied certificate headers never reach a backend, on any
	// route: only certgate may say what certificate a client presented.
	clientcert.StripClientHeaders(r.Header)
	res := pc.resolve(r)
	if res.status != 0 {
		answer(w, res.status)
		return res.lc, nil, nil
	}
	lc, m, match := res.lc, res.m, res.match
	route, rule := res.rule()
	// A CORS preflight is answered before the certificate check: browsers
	// send preflights without credentials, and a client certificate is
	// one. The answer reveals only the CORS settings.
	if rule.filters.CORS(w, r) {
		return lc, route, rule
	}
	if d.confused(lc, m, match, w, r, entry) {
		return lc, route, rule
	}
	identity, ok := d.admit(rule, w, r, entry)
	if !ok {
		return lc, route, rule
	}
	st := &requestState{match: match, route: route, rule: rule, identity: identity, info: res.info(pc, r)}
	d.forward(st, w, r)
	entry.Upstream = st.upstream
	return lc, route, rule
}

// resolution is what routing decides for a request before any client
// certificate is judged: the listener, the normalised path and the rule it
// matches, or the status the gateway answers instead.
type resolution struct {
	// lc is the listener the Host selected; nil when none did.
	lc   *listenerConfig
	host string
	// match is what the route table matched on; m what it matched.
	match *router.Request
	m     router.Result
	// status is 0 when a rule matched, else 400 (a path that cannot be
	// normalised, err says why), 404 (no listener, or no rule) or 421.
	status int
	err    error
}

// resolve routes r on this socket. The request handler and Explain both
// call it, so what Explain says is what serving does.
func (pc *portConfig) resolve(r *http.Request) resolution {
	res := resolution{host: router.HostOf(r.Host)}
	if res.lc, res.status = pc.selectListener(res.host, r.TLS); res.status != 0 {
		return res
	}
	path, err := router.NormalizePath(r.URL.EscapedPath())
	if err != nil {
		res.status, res.err = http.StatusBadRequest, err
		return res
	}
	res.match = &router.Request{Host: res.host, Path: path, Method: r.Method, RawQuery: r.URL.RawQuery, Header: r.Header}
	m, ok := res.lc.table.Match(res.match)
	if !ok {
		res.status = http.StatusNotFound
		return res
	}
	res.m = m
	return res
}

// rule returns the route and rule that matched.
func (res *resolution) rule() (*routeConfig, *ruleConfig) {
	route := res.lc.routes[res.m.RouteIndex]
	return route, route.rules[res.m.RuleIndex]
}

// info is what the rule's filters see of the request.
func (res *resolution) info(pc *portConfig, r *http.Request) filter.RequestInfo {
	info := filter.RequestInfo{
		Scheme: "http", Host: res.host, Port: int(pc.port), Path: res.match.Path, RawQuery: r.URL.RawQuery, MatchedPrefix: res.m.Prefix,
	}
	if r.TLS != nil {
		info.Scheme = "https"
	}
	return info
}

// selectListener picks the listener that serves host on this socket: the
// listener and 0, or the status the request is answered with (404, or 421
// when the handshake was made under another listener's client certificate
// settings). The listener is returned whenever one was found, for the
// metrics.
func (pc *portConfig) selectListener(host string, state *tls.ConnectionState) (*listenerConfig, int) {
	lc, ok := pc.listeners.Lookup(host)
	if !ok || lc.stream != nil {
		return nil, http.StatusNotFound
	}
	if state != nil && pc.listenerFor(state.ServerName).tlsProfile != lc.tlsProfile {
		// The handshake was made under another listener's client
		// certificate settings than this Host's; serving it would bypass
		// them (RFC 9110 section 15.5.20).
		return lc, http.StatusMisdirectedRequest
	}
	return lc, 0
}

// admit judges the connection's client certificate against the rule's
// requirement. It answers 403 and returns false for a request the rule
// rejects; in audit mode it only counts. The peer it returns is the
// identity to forward upstream, nil when there is none.
func (d *Dataplane) admit(rule *ruleConfig, w http.ResponseWriter, r *http.Request, entry *accesslog.Entry) (*clientcert.Peer, bool) {
	req := rule.requirement
	if req == nil {
		return nil, true
	}
	peer := peerOf(r)
	if peer.Leaf() == nil && req.Mode() != snapshot.ModeAudit && neverAsked(r) {
		reconnect(w) // see reconnect.go
		return nil, false
	}
	if fp, ok := peer.Fingerprints(); ok && d.opts.AccessLog != nil {
		entry.ClientCertSHA256 = hex.EncodeToString(fp.SHA256[:])
	}
	reason := rule.judge(peer, d.opts.Now())
	if reason == "" {
		return peer, true
	}
	entry.Rejection = string(reason)
	if req.Mode() == snapshot.ModeAudit {
		// Passes, but without forwarded certificate headers: a backend
		// may take them as proof that the certificate was accepted.
		return nil, true
	}
	answer(w, http.StatusForbidden)
	return nil, false
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
	if direct := target.directFor(st.rule, r); direct != nil {
		d.forwardDirect(st, direct, w, r)
		return
	}
	ctx := context.WithValue(r.Context(), stateKey{}, st)
	if t := st.rule.timeouts.Request; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	ctx, release := d.watch(ctx, st, w, r)
	defer release()
	r = r.WithContext(ctx)
	d.mirror(st, r)
	target.proxy.ServeHTTP(w, r)
}

// watch makes the upstream request abortable where it needs to be: by its
// body, when reading it from the client fails, and, for a WebSocket
// upgrade, by a configuration change that no longer admits the tunnel.
// Call release when the request is done.
func (d *Dataplane) watch(ctx context.Context, st *requestState, w http.ResponseWriter, r *http.Request) (_ context.Context, release func()) {
	websocket := keepWebSocketUpgrade(r.Header)
	if !websocket && !hasBody(r) {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	if hasBody(r) {
		st.body = &clientBody{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: d.opts.BodyIdleTimeout, abort: cancel}
		r.Body = st.body
	}
	if !websocket {
		return ctx, func() { st.body.finish(); cancel() }
	}
	sock, upgrade, peer := r.Context().Value(socketKey{}).(*socket), *st.match, peerOf(r)
	// The route table reads the tunnel's headers while the request goes on.
	upgrade.Header = r.Header.Clone()
	route, rule, state := st.route.id, st.rule.label, r.TLS
	// Ending the request makes the reverse proxy close the backend's side
	// on a goroutine of its own, some time after; the client's socket is
	// closed here and now, so that nothing the client sends once Apply
	// has judged the tunnel is read, let alone passed on. (An upgrade is
	// HTTP/1.1's: the connection is the tunnel's alone.)
	var client net.Conn
	if r.ProtoMajor == 1 {
		client = transportOf(r)
	}
	end := func() {
		cancel()
		if client != nil {
			_ = client.Close()
		}
	}
	t := &tunnel{sock: sock, close: end, admit: func() bool {
		return d.admitsUpgrade(sock, &upgrade, state, peer, route, rule)
	}}
	d.addTunnel(t)
	return ctx, func() { d.removeTunnel(t); cancel() }
}
