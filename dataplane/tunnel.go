package dataplane

import (
	"context"
	"crypto/tls"
	"sync"

	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// tunnel is one WebSocket upgrade, from its request until its connection
// closes, with what admitted it. Keep-alive requests are judged one by one
// against the snapshot in force; a tunnel carries no more requests to
// judge, so it is judged again as a whole after every Apply.
type tunnel struct {
	sock    *socket
	request router.Request
	tls     *tls.ConnectionState
	peer    *clientcert.Peer
	// route and rule are the identities of what the upgrade matched.
	route, rule string
	// close ends the upgrade request, which makes httputil.ReverseProxy
	// close both sides of the tunnel.
	close context.CancelFunc
	// admit, when set, replaces the WebSocket judgement: a TLSRoute
	// connection (stream.go) is one tunnel from its handshake on.
	admit func() bool
}

// tunnels is the set of open tunnels of a data plane.
type tunnels struct {
	mu   sync.Mutex
	open map[*tunnel]struct{}
}

// add registers t and judges it once against the snapshot now in force:
// an Apply that swapped its configuration in after t's request was routed
// but before t was registered has judged the other tunnels without t.
func (d *Dataplane) addTunnel(t *tunnel) {
	d.tunnels.mu.Lock()
	if d.tunnels.open == nil {
		d.tunnels.open = map[*tunnel]struct{}{}
	}
	d.tunnels.open[t] = struct{}{}
	d.tunnels.mu.Unlock()
	if !d.admitsTunnel(t) {
		t.close()
	}
}

func (d *Dataplane) removeTunnel(t *tunnel) {
	d.tunnels.mu.Lock()
	delete(d.tunnels.open, t)
	d.tunnels.mu.Unlock()
}

// judgeTunnels closes every tunnel the configuration now in force would
// not admit. Apply calls it after swapping configurations in.
func (d *Dataplane) judgeTunnels() {
	d.tunnels.mu.Lock()
	defer d.tunnels.mu.Unlock()
	for t := range d.tunnels.open {
		if !d.admitsTunnel(t) {
			t.close()
		}
	}
}

// admitsTunnel reports whether t's upgrade request, made again now, would
// match the same route and rule and pass its client certificate
// requirement. A tunnel whose socket was removed is not admitted.
func (d *Dataplane) admitsTunnel(t *tunnel) bool {
	if t.sock.retired.Load() {
		return false
	}
	if t.admit != nil {
		return t.admit()
	}
	pc := t.sock.config.Load()
	lc, ok := pc.listeners.Lookup(t.request.Host)
	if !ok || lc.stream != nil || t.tls != nil && pc.listenerFor(t.tls.ServerName).tlsProfile != lc.tlsProfile {
		return false
	}
	m, ok := lc.table.Match(&t.request)
	if !ok {
		return false
	}
	route := lc.routes[m.RouteIndex]
	rule := route.rules[m.RuleIndex]
	if route.id != t.route || rule.label != t.rule {
		return false
	}
	req := rule.requirement
	return req == nil || req.Mode() == snapshot.ModeAudit || req.Check(t.peer, d.opts.Now()) == ""
}
