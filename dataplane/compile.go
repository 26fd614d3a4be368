package dataplane

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"net"
	"slices"

	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// portConfig is the compiled configuration of one socket: the listeners
// that share its address and port.
type portConfig struct {
	// port is the port clients connect to (the listener's public port),
	// which redirects keep.
	port int32
	// tls is nil for an HTTP port. For HTTPS it only picks, by SNI, the
	// listener whose handshake configuration applies.
	tls       *tls.Config
	listeners *router.HostIndex[*listenerConfig]
	// fallback handles handshakes whose SNI matches no listener, and
	// requests whose Host matches none.
	fallback *listenerConfig
	// streams is set when a listener of the port is TLS: the socket then
	// reads every ClientHello before choosing how to serve it.
	streams bool
}

// listenerConfig is one compiled listener.
type listenerConfig struct {
	name    string
	gateway string
	tls     *tls.Config
	// tlsProfile identifies the listener's client certificate handshake
	// settings, for the 421 check.
	tlsProfile string
	table      *router.Table
	routes     []*routeConfig
	// guard finds the rule a backend may read a confusing path as; nil
	// when no rule of the listener is guarded.
	guard *router.Guard
	// unmatched records requests that matched no route.
	unmatched *metrics.RouteRecorder
	// stream is the listener's TLSRoutes when it is a TLS listener, nil
	// otherwise.
	stream *streamListener
}

// compile builds the configuration of every socket in s, keyed by address.
// It does not touch the running data plane.
func (d *Dataplane) compile(s *snapshot.Snapshot) (map[string]*portConfig, error) {
	bySocket := map[string][]*snapshot.Listener{}
	for i := range s.Listeners {
		l := &s.Listeners[i]
		addr := net.JoinHostPort(l.Address, fmt.Sprint(l.Port))
		bySocket[addr] = append(bySocket[addr], l)
	}
	keys, err := d.ticketKeys(d.opts.Now())
	if err != nil {
		return nil, fmt.Errorf("session ticket keys: %w", err)
	}
	ports := make(map[string]*portConfig, len(bySocket))
	for addr, ls := range bySocket {
		pc, err := d.compilePort(ls, keys)
		if err != nil {
			return nil, err
		}
		ports[addr] = pc
	}
	return ports, nil
}

func (d *Dataplane) compilePort(ls []*snapshot.Listener, ticketKeys [][32]byte) (*portConfig, error) {
	// A stable order makes the fallback listener the same on every apply.
	slices.SortFunc(ls, func(a, b *snapshot.Listener) int { return cmp.Compare(a.Name, b.Name) })
	pc := &portConfig{port: ls[0].Port}
	if ls[0].PublicPort != 0 {
		pc.port = ls[0].PublicPort
	}
	requestCert := anyRequirement(ls)
	entries := make([]router.HostEntry[*listenerConfig], 0, len(ls))
	for _, l := range ls {
		lc, err := d.compileListener(l, requestCert, ticketKeys)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", l.Name, err)
		}
		entries = append(entries, router.HostEntry[*listenerConfig]{Pattern: l.Hostname, Value: lc})
		if pc.fallback == nil || l.Hostname == "" {
			pc.fallback = lc
		}
		pc.streams = pc.streams || l.Protocol == snapshot.ProtocolTLS
	}
	hosts, err := router.NewHostIndex(entries)
	if err != nil {
		return nil, fmt.Errorf("listeners on port %d: %w", pc.port, err)
	}
	pc.listeners = hosts
	if slices.ContainsFunc(ls, func(l *snapshot.Listener) bool { return l.Protocol == snapshot.ProtocolHTTPS }) {
		pc.tls = &tls.Config{
			MinVersion:         tls.VersionTLS12,
			GetConfigForClient: pc.handshakeConfig,
		}
	}
	return pc, nil
}

// handshakeConfig picks the listener for a TLS handshake by SNI.
func (pc *portConfig) handshakeConfig(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	lc := pc.listenerFor(hello.ServerName)
	noteListener(hello, lc)
	return lc.tls, nil
}

// listenerFor returns the listener for a host name, or the fallback.
func (pc *portConfig) listenerFor(host string) *listenerConfig {
	if lc, ok := pc.listeners.Lookup(host); ok {
		return lc
	}
	return pc.fallback
}

// anyRequirement reports whether any route on these listeners has a client
// certificate requirement.
func anyRequirement(ls []*snapshot.Listener) bool {
	found := false
	for _, l := range ls {
		if l.Protocol == snapshot.ProtocolTLS {
			continue // a TLS listener asks for certificates on its own
		}
		l.EachRule(func(_ *snapshot.Route, rule *snapshot.Rule) {
			found = found || rule.ClientCert != nil
		})
	}
	return found
}

func (d *Dataplane) compileListener(l *snapshot.Listener, requestCert bool, ticketKeys [][32]byte) (*listenerConfig, error) {
	lc := &listenerConfig{
		name:      l.Name,
		gateway:   l.Gateway,
		unmatched: d.opts.Metrics.Route(l.Gateway, "", ""),
	}
	d.opts.Metrics.Listener(l.Gateway, l.Name)
	if l.Protocol == snapshot.ProtocolTLS {
		return d.compileStreamListener(lc, l, ticketKeys)
	}
	if l.Protocol == snapshot.ProtocolHTTPS {
		cfg, profile, err := listenerTLS(l, requestCert, ticketKeys)
		if err != nil {
			return nil, err
		}
		lc.tls, lc.tlsProfile = cfg, profile
	}
	serving := d.servingListener(l)
	var servingTable *router.Table
	if serving != nil {
		servingTable = serving.table
	}
	table, err := router.CompileFrom(servingTable, l.Routes)
	if err != nil {
		return nil, err
	}
	lc.table = table
	for i := range l.Routes {
		rc, err := d.reuseOrCompile(l, i)
		if err != nil {
			return nil, fmt.Errorf("routes[%d] (%s/%s): %w", i, l.Routes[i].Namespace, l.Routes[i].Name, err)
		}
		lc.routes = append(lc.routes, rc)
	}
	if lc.guard, err = guardFor(serving, l, lc.routes); err != nil {
		return nil, err
	}
	return lc, nil
}

// servingListener returns the compiled listener l's name serves now, or
// nil: the next one shares with it what l's routes left unchanged. What
// it holds is never modified, and the snapshot it was compiled from is
// not either (see Apply).
func (d *Dataplane) servingListener(l *snapshot.Listener) *listenerConfig {
	s := d.sockets[net.JoinHostPort(l.Address, fmt.Sprint(l.Port))]
	if s == nil {
		return nil
	}
	pc := s.config.Load()
	if pc == nil {
		return nil
	}
	if lc := pc.listenerFor(l.Hostname); lc.name == l.Name {
		return lc
	}
	return nil
}

// compileStreamListener compiles a TLS listener: its routes by SNI and,
// when it terminates, its handshake. It has no HTTP route table.
func (d *Dataplane) compileStreamListener(lc *listenerConfig, l *snapshot.Listener, ticketKeys [][32]byte) (*listenerConfig, error) {
	stream, err := d.compileStream(l)
	if err != nil {
		return nil, err
	}
	lc.stream = stream
	if l.TLSMode == snapshot.TLSTerminate {
		if lc.tls, err = d.streamTLS(l, stream, ticketKeys); err != nil {
			return nil, err
		}
	}
	return lc, nil
}
