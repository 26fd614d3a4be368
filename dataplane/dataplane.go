// Package dataplane serves a snapshot: it compiles the snapshot into route
// tables, TLS configurations, client certificate requirements and upstream
// transports, then swaps them in atomically. A snapshot that fails to
// compile is rejected whole and the previous one keeps serving.
//
// The pieces live in subpackages named for what they hold: snapshot (the
// model), router (path normalisation and route matching), clientcert
// (judging a client certificate), filter (HTTPRoute filters), upstream
// (backend transports and backend TLS), metrics and accesslog. This package
// owns the sockets and the per-request flow that ties them together.
package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/dataplane/upstream"
)

// Options configure a Dataplane.
type Options struct {
	// Metrics receives every metric; required.
	Metrics *metrics.Metrics
	// Log receives operational messages; nil discards them.
	Log *slog.Logger
	// AccessLog receives one line per request; nil discards them.
	AccessLog *accesslog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// BodyIdleTimeout is how long a request body may send nothing before
	// the request is answered 408 and its upstream request aborted; zero
	// means 30 s, a negative value turns the timeout off.
	BodyIdleTimeout time.Duration
}

// Dataplane serves the most recently applied snapshot.
type Dataplane struct {
	opts     Options
	log      *slog.Logger
	upstream *upstream.Pool
	// proxyLog is the ErrorLog of every reverse proxy: one logger, not
	// one per backend of every rule.
	proxyLog *log.Logger
	// routes are the compiled routes of the serving snapshot, reused by
	// the next compile for the routes it did not change; guarded by mu.
	routes routeCache

	// mu serialises Apply and Shutdown; requests never take it.
	mu      sync.Mutex
	sockets map[string]*socket
	closed  bool
	// Session ticket keys, guarded by mu; see ticketKeys.
	ticketKey, ticketPrev *[32]byte
	ticketKeyBorn         time.Time
	// expiries are the expiry dates of the certificate bundles of the
	// serving snapshot, by content, guarded by mu; see recordExpiry.
	expiries map[string]expiry

	tunnels tunnels
}

// New returns a data plane that serves nothing until the first Apply.
func New(opts Options) *Dataplane {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.BodyIdleTimeout == 0 {
		opts.BodyIdleTimeout = defaultBodyIdleTimeout
	}
	return &Dataplane{
		opts:     opts,
		log:      opts.Log,
		upstream: upstream.NewPool(),
		proxyLog: slog.NewLogLogger(opts.Log.Handler(), slog.LevelDebug),
		sockets:  map[string]*socket{},
	}
}

// Apply validates and compiles s, opens the sockets it adds, and swaps it
// in. On any error nothing changes: the previous snapshot keeps serving.
// Sockets that s no longer has drain in the background. s must not be
// modified afterwards: the next Apply compares its routes with s's to
// reuse the ones that did not change.
func (d *Dataplane) Apply(s *snapshot.Snapshot) (err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer func() { d.opts.Metrics.Applied(err, d.opts.Now()) }()
	if d.closed {
		return errors.New("data plane is shut down")
	}
	ports, err := d.build(s)
	if err != nil {
		return err
	}
	opened, err := d.openMissing(ports)
	if err != nil {
		return err
	}
	for addr, cfg := range ports {
		d.sockets[addr].config.Store(cfg)
	}
	for _, s := range opened {
		s.start(d.log)
	}
	for addr, s := range d.sockets {
		if _, keep := ports[addr]; !keep {
			s.retired.Store(true)
			delete(d.sockets, addr)
			go d.drain(s)
		}
	}
	d.routes.commit()
	d.judgeTunnels()
	d.upstream.Sweep()
	d.opts.Metrics.Retain()
	d.recordExpiry(s)
	d.log.Info("snapshot applied", "listeners", len(s.Listeners), "sockets", len(d.sockets))
	return nil
}

// Compile does everything Apply does to s short of serving it: it
// validates s and compiles it into route tables, regular expressions,
// filters, key pairs, TLS configurations and upstream transports, then
// discards them. It opens no socket and starts nothing, so a snapshot it
// accepts is one Apply accepts (a bind failure aside), and its error names
// the listener, route and rule at fault as Apply's does.
func Compile(s *snapshot.Snapshot) error {
	_, err := New(Options{Metrics: metrics.New()}).build(s)
	return err
}

// build validates and compiles s, the part of Apply that cannot fail on
// the host: sockets are Apply's alone. The routes s has unchanged from the
// serving snapshot were validated when they were first compiled and are
// reused as they are, so only the rest of s is validated.
func (d *Dataplane) build(s *snapshot.Snapshot) (map[string]*portConfig, error) {
	d.routes.start(s)
	if err := s.ValidateExcept(d.routes.reused); err != nil {
		return nil, fmt.Errorf("invalid snapshot: %w", err)
	}
	ports, err := d.compile(s)
	if err != nil {
		return nil, fmt.Errorf("compile snapshot: %w", err)
	}
	return ports, nil
}

// openMissing binds every address in ports that has no socket yet. If one
// fails, the ones it opened are closed again.
func (d *Dataplane) openMissing(ports map[string]*portConfig) ([]*socket, error) {
	var opened []*socket
	for addr := range ports {
		if _, ok := d.sockets[addr]; ok {
			continue
		}
		s, err := openSocket(d, addr, d.log)
		if err != nil {
			for _, o := range opened {
				o.closeUnstarted()
				delete(d.sockets, o.addr)
			}
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		d.sockets[addr] = s
		opened = append(opened, s)
	}
	return opened, nil
}

func (d *Dataplane) drain(s *socket) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	s.drain(ctx)
	d.log.Info("listener closed", "address", s.addr)
}

// Addr returns the bound address of the socket for a listener address and
// port, for callers that asked for port 0 semantics through the OS. It is
// nil when no such socket is open.
func (d *Dataplane) Addr(address string, port int32) net.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.sockets[net.JoinHostPort(address, fmt.Sprint(port))]; ok {
		return s.ln.Addr()
	}
	return nil
}

// Shutdown stops accepting connections on every socket and waits, until
// ctx ends, for in-flight requests to finish.
func (d *Dataplane) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	var wg sync.WaitGroup
	for addr, s := range d.sockets {
		s.retired.Store(true)
		delete(d.sockets, addr)
		wg.Go(func() { s.drain(ctx) })
	}
	wg.Wait()
	// Draining does not wait for hijacked connections.
	d.judgeTunnels()
	d.upstream.Close()
	d.opts.AccessLog.Flush()
	return ctx.Err()
}
