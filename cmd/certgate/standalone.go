package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/certgate/certgate/controllers/files"
	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/metrics"
)

const standaloneUsage = `usage: certgate standalone --config DIR [--metrics-address ADDR] [--access-log]
       certgate standalone --check DIR

Serves the Gateway API YAML in DIR (every *.yaml and *.yml file, several
documents each) without Kubernetes, and reloads it when a file changes.
A change that does not decode is skipped whole: the previous configuration
keeps serving. Status conditions are printed as they change and served as
JSON at /status on the metrics address. Without a GatewayClass in DIR,
Gateways of class "certgate" are served.

--check DIR validates instead: it prints every object's conditions and
exits 1 if anything is not accepted or a file does not decode, 0 otherwise.

flags:
`

// shutdownTimeout bounds the drain of in-flight requests on SIGINT or
// SIGTERM; a request still running after it is cut.
const shutdownTimeout = 15 * time.Second

// standaloneFlags are the parsed flags of "certgate standalone".
type standaloneFlags struct {
	config, check, metricsAddress string
	accessLog                     bool
}

// runStandalone is "certgate standalone". It exits 2 on bad flags and 1
// when --check finds a problem; in serve mode a bad resource never ends
// the process, it is reported and the previous configuration keeps serving.
func runStandalone(args []string, stdout, stderr io.Writer) int {
	f, code := parseStandalone(args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if f.check != "" {
		if files.Check(f.check, time.Now(), stdout) {
			return 0
		}
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveStandalone(ctx, f, stdout, stderr)
}

// parseStandalone parses the flags; code is -1 to go on, otherwise the
// exit status.
func parseStandalone(args []string, stdout, stderr io.Writer) (f standaloneFlags, code int) {
	fs := flag.NewFlagSet("standalone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "", "serve the configuration in this `directory`")
	fs.StringVar(&f.check, "check", "", "validate the configuration in this `directory` and exit")
	fs.StringVar(&f.metricsAddress, "metrics-address", "127.0.0.1:9090", "serve /metrics and /status on this `address` (empty: do not serve)")
	fs.BoolVar(&f.accessLog, "access-log", false, "write one JSON line per request to standard error")
	fs.Usage = func() { fmt.Fprint(fs.Output(), standaloneUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, 0
		}
		return f, 2
	}
	dir := f.config
	switch {
	case fs.NArg() != 0:
		fmt.Fprintf(stderr, "certgate standalone: unexpected argument %q\n", fs.Arg(0))
	case (f.config == "") == (f.check == ""):
		fmt.Fprintln(stderr, "certgate standalone: give exactly one of --config and --check")
	default:
		if f.check != "" {
			dir = f.check
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			fmt.Fprintf(stderr, "certgate standalone: %s is not a directory\n", dir)
			return f, 2
		}
		return f, -1
	}
	fs.Usage()
	return f, 2
}

// serveStandalone serves until ctx ends, then drains and returns the exit
// status.
func serveStandalone(ctx context.Context, f standaloneFlags, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	m := metrics.New()
	opts := dataplane.Options{Metrics: m, Log: log}
	if f.accessLog {
		opts.AccessLog = accesslog.New(stderr)
	}
	dp := dataplane.New(opts)
	p := files.New(files.Options{Dir: f.config, Dataplane: dp, Out: stdout, Log: log})
	srv, err := startStatusServer(m, p, f.metricsAddress, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "certgate standalone: --metrics-address: %v\n", err)
		return 1
	}
	p.Run(ctx) // until SIGINT or SIGTERM; a bad configuration is printed, not an exit
	fmt.Fprintln(stdout, "shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if srv != nil {
		_ = srv.Shutdown(sctx)
	}
	if err := dp.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "certgate standalone: drain: %v\n", err)
	}
	fmt.Fprintln(stdout, "stopped")
	return 0
}

// startStatusServer serves /metrics and /status on addr, and prints the
// address it bound (addr may ask for port 0). It returns nil for an
// empty addr.
func startStatusServer(m *metrics.Metrics, p *files.Provider, addr string, stdout io.Writer) (*http.Server, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := m.Server(addr)
	mux := http.NewServeMux()
	mux.Handle("/metrics", srv.Handler)
	mux.Handle("/status", p)
	srv.Handler = mux
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(stdout, "metrics on http://%s/metrics, status on http://%s/status\n", ln.Addr(), ln.Addr())
	return srv, nil
}
