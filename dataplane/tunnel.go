package dataplane

import (
	"crypto/tls"
	"sync"

	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/router"
)

// tunnel is a connection that carries no more requests to judge: a
// WebSocket upgrade, from its request until its connection closes, or a
// TLSRoute connection (stream.go), from its handshake on. Keep-alive
// requests are judged one by one against the snapshot in force; a tunnel
// is judged again as a whole after every Apply.
type tunnel struct {
	sock *socket
	// close ends the tunnel: it closes the client's socket before it
	// returns, so that nothing sent after a configuration change that
	// ends the tunnel is read; the backend's side closes as the stream or
	// the reverse proxy's upgrade then ends.
	close func()
	// admit reports whether what opened the tunnel, made again now, would
	// reach the same route and rule and pass its requirement.
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

// admitsTunnel reports whether t is still admitted. A tunnel whose socket
// was removed is not.
func (d *Dataplane) admitsTunnel(t *tunnel) bool {
	return !t.sock.retired.Load() && t.admit()
}

// admitsUpgrade reports whether a WebSocket upgrade, matched as upgrade on
// a connection with TLS state and peer, would match the same route and
// rule now and pass its client certificate requirement.
func (d *Dataplane) admitsUpgrade(sock *socket, upgrade *router.Request, state *tls.ConnectionState, peer *clientcert.Peer, route, rule string) bool {
	lc, status := sock.config.Load().selectListener(upgrade.Host, state)
	if status != 0 {
		return false
	}
	m, ok := lc.table.Match(upgrade)
	if !ok {
		return false
	}
	rc := lc.routes[m.RouteIndex]
	rl := rc.rules[m.RuleIndex]
	return rc.id == route && rl.label == rule && rl.admits(peer, d.opts.Now())
}
