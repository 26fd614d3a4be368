package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/certgate/certgate/dataplane"
)

// What every gateway process (controller and standalone) shares: the
// signals that stop it, the /metrics and /status server, and the drain.

// shutdownGrace bounds how long in-flight requests may take to finish
// once the drain starts (at SIGINT or SIGTERM, or for the controller
// --shutdown-delay later); a request still running after it is cut. It is
// one value for both commands so that a request gets the same chance
// wherever certgate runs. A supervisor must wait the shutdown delay plus
// 25 s plus a margin before SIGKILL: the chart's 35 s
// terminationGracePeriodSeconds covers its 5 s delay; a supervisor with a
// shorter stop timeout (docker stop waits 10 s) must be given more for
// the drain to complete.
const shutdownGrace = 25 * time.Second

// statusReadHeaderTimeout bounds how long a client of the /metrics and
// /status server may take to send its request headers, so idle scrapers
// cannot hold connections open.
const statusReadHeaderTimeout = 10 * time.Second

// stopContext ends on SIGINT or SIGTERM: the process then drains.
func stopContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// statusServer serves /metrics and /status on one address.
type statusServer struct {
	srv *http.Server
	// Addr is the address bound, which tells the port when the flag asked
	// for port 0.
	Addr net.Addr
}

// serveStatus binds addr at once, so a port in use fails the start, and
// serves metrics at /metrics and status at /status until shut down. An
// empty addr serves nothing and returns nil.
func serveStatus(addr string, metrics, status http.Handler) (*statusServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.Handle("/status", status)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: statusReadHeaderTimeout}
	go func() { _ = srv.Serve(ln) }()
	return &statusServer{srv: srv, Addr: ln.Addr()}, nil
}

// shutdown stops the process's servers: the data plane stops accepting and
// its in-flight requests, like /metrics and /status ones, get
// shutdownGrace to finish. status may be nil. The error is the data
// plane's: requests were cut.
func shutdown(dp *dataplane.Dataplane, status *statusServer) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var statusErr error
	if status != nil {
		statusErr = status.srv.Shutdown(ctx)
	}
	return errors.Join(dp.Shutdown(ctx), statusErr)
}
