package dataplane

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/dataplane/upstream"
)

// streamListener is a compiled TLS listener: its TLSRoutes by SNI.
type streamListener struct {
	mode   snapshot.TLSMode
	routes *router.HostIndex[*streamRoute]
	// all are the listener's routes, each once.
	all []*streamRoute
}

// streamRoute is one compiled TLSRoute on one listener.
type streamRoute struct {
	// id is "namespace/TLSRoute/name".
	id   string
	rule *ruleConfig
	// backends are the rule's backends, which label its backend TLS
	// errors.
	backends []snapshot.WeightedBackend
	weighted *upstream.Weighted
	// dialers parallel the rule's backends; nil for an invalid one.
	dialers []*upstream.StreamDialer
	// tls is the route's handshake configuration on a terminating
	// listener (see streamTLS).
	tls *tls.Config
}

// compileStream compiles a TLS listener's routes. Two routes claiming one
// hostname: the older (then by namespace and name) keeps it, as the
// Gateway API resolves route conflicts.
func (d *Dataplane) compileStream(l *snapshot.Listener) (*streamListener, error) {
	routes := slices.Clone(l.Routes)
	slices.SortStableFunc(routes, func(a, b snapshot.Route) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	var entries []router.HostEntry[*streamRoute]
	var all []*streamRoute
	taken := map[string]bool{}
	for i := range routes {
		sr, err := d.compileStreamRoute(l, &routes[i])
		if err != nil {
			return nil, fmt.Errorf("routes (%s/%s): %w", routes[i].Namespace, routes[i].Name, err)
		}
		all = append(all, sr)
		hosts := routes[i].Hostnames
		if len(hosts) == 0 {
			hosts = []string{l.Hostname}
		}
		for _, h := range hosts {
			if !taken[h] {
				taken[h] = true
				entries = append(entries, router.HostEntry[*streamRoute]{Pattern: h, Value: sr})
			}
		}
	}
	idx, err := router.NewHostIndex(entries)
	if err != nil {
		return nil, err
	}
	return &streamListener{mode: l.TLSMode, routes: idx, all: all}, nil
}

func (d *Dataplane) compileStreamRoute(l *snapshot.Listener, r *snapshot.Route) (*streamRoute, error) {
	rule := &r.Rules[0]
	sr := &streamRoute{
		id:       r.ID(),
		rule:     &ruleConfig{label: rule.Label(0)},
		backends: rule.Backends,
		weighted: upstream.NewWeighted(rule.Backends),
	}
	d.compileRequirement(sr.rule, r, rule)
	for i := range rule.Backends {
		b := &rule.Backends[i].Backend
		if b.Invalid != "" {
			sr.dialers = append(sr.dialers, nil)
			continue
		}
		dialer, err := upstream.NewStreamDialer(b, l.TLSMode == snapshot.TLSTerminate)
		if err != nil {
			return nil, err
		}
		sr.dialers = append(sr.dialers, dialer)
	}
	return sr, nil
}

// route returns the route for an SNI. A connection without SNI has no
// route: hostnames are all a TLSRoute matches.
func (s *streamListener) route(sni string) (*streamRoute, bool) {
	if sni == "" {
		return nil, false
	}
	return s.routes.Lookup(sni)
}

// streamTLS builds the handshake configurations of a terminating TLS
// listener's routes: the listener's certificates, no ALPN (the stream is
// not HTTP), and the client certificate settings of the route the SNI
// selects, chosen at the ClientHello. An enforcing requirement makes the
// certificate mandatory (RequireAnyClientCert), so a client that sends
// none is refused by crypto/tls with the certificate_required alert (TLS
// 1.3; TLS 1.2 has no such alert and gets handshake_failure); a
// certificate that fails the requirement is refused in VerifyConnection,
// for which crypto/tls sends bad_certificate. Either way the handshake
// fails, so the backend is never dialled. Without frontend validation,
// routes with an Audit requirement only request a certificate, and routes
// without one do not ask.
func (d *Dataplane) streamTLS(l *snapshot.Listener, sl *streamListener, ticketKeys [][32]byte) (*tls.Config, error) {
	base, _, err := listenerTLS(l, false, ticketKeys)
	if err != nil {
		return nil, err
	}
	base.NextProtos = nil
	base.VerifyConnection = func(cs tls.ConnectionState) error {
		route, ok := sl.route(cs.ServerName)
		if !ok {
			return errNoRoute
		}
		return route.judge(clientcert.NewPeer(&cs), d.opts.Now())
	}
	for _, r := range sl.all {
		r.tls = base.Clone()
		if req := r.rule.requirement; req != nil && l.TLS.FrontendValidation == nil {
			r.tls.ClientAuth = tls.RequestClientCert
			if req.Mode() != snapshot.ModeAudit {
				r.tls.ClientAuth = tls.RequireAnyClientCert
			}
		}
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		route, ok := sl.route(hello.ServerName)
		if !ok {
			return nil, errNoRoute
		}
		return route.tls, nil
	}}, nil
}

// Handshake errors of terminating TLS listeners.
var (
	// errNoRoute refuses a handshake whose SNI selects no TLSRoute.
	errNoRoute = errors.New("no TLSRoute for this server name")
	// errRefused is a client certificate a requirement refused; it is
	// counted as a rejection, not as a failed handshake.
	errRefused = errors.New("client certificate refused")
)

// judge counts the client certificate against the route's requirement
// and returns the error that fails the handshake when it is refused.
// Audit mode counts and passes.
func (r *streamRoute) judge(peer *clientcert.Peer, now time.Time) error {
	req := r.rule.requirement
	if req == nil {
		return nil
	}
	reason := r.rule.judge(peer, now)
	if reason == "" || req.Mode() == snapshot.ModeAudit {
		return nil
	}
	return fmt.Errorf("%w by TLSRoute %s: %s", errRefused, r.id, reason)
}

// dialRoute connects to a backend of r picked by weight.
func (d *Dataplane) dialRoute(ctx context.Context, r *streamRoute) (net.Conn, error) {
	i := r.weighted.Pick()
	if i < 0 || r.dialers[i] == nil {
		return nil, fmt.Errorf("route %s has no valid backend", r.id)
	}
	c, err := r.dialers[i].Dial(ctx)
	if reason := upstream.TLSErrorReason(err); reason != "" {
		b := r.backends[i]
		d.opts.Metrics.BackendTLSErrors.WithLabelValues(b.Namespace, b.Service, reason).Inc()
	}
	return c, err
}

// splice copies both directions until both have ended, passing each end
// of stream on as a half-close, then closes both connections.
func splice(client, backend net.Conn) {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(backend, client)
		_ = closeWrite(backend)
		close(done)
	}()
	_, _ = io.Copy(client, backend)
	_ = closeWrite(client)
	<-done
	_ = client.Close()
	_ = backend.Close()
}

// dispatch reads a connection's ClientHello and hands the connection to
// the listener its SNI selects: an HTTPS listener's connection loop, or a
// TLS listener's stream.
func (s *socket) dispatch(c *countedConn, pc *portConfig) {
	_ = c.SetReadDeadline(time.Now().Add(readHeaderTimeout))
	hello, read, err := readClientHello(c)
	if err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	rc := &replayConn{Conn: c, replay: read}
	lc := pc.listenerFor(hello.ServerName)
	switch {
	case lc.stream != nil:
		c.listener = lc
		s.dp.serveStream(s, rc, hello.ServerName, lc)
	case pc.tls != nil:
		s.h1.serve(tls.Server(rc, pc.tls))
	default:
		_ = c.Close()
	}
}

// serveStream serves one connection of a TLS listener: terminates it when
// the listener does, picks the route by SNI, registers the connection to
// be judged again on every Apply (see tunnel.go), dials a backend and
// splices the two.
func (d *Dataplane) serveStream(s *socket, c *replayConn, sni string, lc *listenerConfig) {
	var client net.Conn = c
	var peer *clientcert.Peer
	if lc.stream.mode == snapshot.TLSTerminate {
		tc, err := d.terminate(c, lc, sni)
		if err != nil {
			return
		}
		cs := tc.ConnectionState()
		client, peer = tc, clientcert.NewPeer(&cs)
	}
	route, ok := lc.stream.route(sni)
	if !ok {
		_ = client.Close()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Closing the client's socket itself, at once, is what makes a judged
	// stream end before Apply returns: no byte the client sends afterwards
	// reaches the backend. The AfterFunc below runs on a goroutine of its
	// own, and closing the TLS layer would first write a close_notify,
	// which a client that does not read could hold up Apply with.
	t := &tunnel{sock: s, close: func() { cancel(); _ = c.Close() }}
	t.admit = func() bool { return d.admitsStream(s, sni, lc.stream.mode, route.id, peer) }
	d.addTunnel(t)
	defer d.removeTunnel(t)
	backend, err := d.dialRoute(ctx, route)
	if err != nil {
		d.log.Debug("TLSRoute backend unreachable", "route", route.id, "error", err)
		_ = client.Close()
		return
	}
	stop := context.AfterFunc(ctx, func() { _ = client.Close(); _ = backend.Close() })
	defer stop()
	splice(client, backend)
}

// terminate completes the TLS handshake of a terminating listener. A
// client refused for sending no certificate never reached
// VerifyConnection, so its rejection is counted here.
func (d *Dataplane) terminate(c *replayConn, lc *listenerConfig, sni string) (*tls.Conn, error) {
	tc := tls.Server(c, lc.tls)
	ctx, cancel := context.WithTimeout(context.Background(), readHeaderTimeout)
	defer cancel()
	err := tc.HandshakeContext(ctx)
	if err == nil {
		return tc, nil
	}
	if route, ok := lc.stream.route(sni); ok && err.Error() == errNoCertificate {
		_ = route.judge(clientcert.NewPeer(&tls.ConnectionState{}), d.opts.Now())
	} else if reason := handshakeFailure(err); reason != "" && !errors.Is(err, errRefused) {
		if cc, ok := counted(c); ok {
			d.opts.Metrics.HandshakeFailed(cc.port, lc.gateway, lc.name, reason)
		}
	}
	_ = tc.Close()
	return nil, err
}

// admitsStream reports whether a stream connection, opened again now,
// would reach the same route and pass its requirement.
func (d *Dataplane) admitsStream(s *socket, sni string, mode snapshot.TLSMode, id string, peer *clientcert.Peer) bool {
	lc := s.config.Load().listenerFor(sni)
	if lc.stream == nil || lc.stream.mode != mode {
		return false
	}
	route, ok := lc.stream.route(sni)
	return ok && route.id == id && route.rule.admits(peer, d.opts.Now())
}
