package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/certgate/certgate/controllers/files"
	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/metrics"
)

const standaloneUsage = `usage: certgate standalone --config DIR [FLAGS]
       certgate standalone --check DIR
       certgate standalone --check --config DIR

Serves the Gateway API YAML in DIR (every *.yaml and *.yml file, several
documents each) without Kubernetes, and reloads it when a file changes.
A change that does not decode is skipped whole: the previous configuration
keeps serving. Status conditions are printed as they change and served as
JSON at /status on the metrics address. Without a GatewayClass in DIR,
Gateways of class "certgate" are served.

--check validates DIR instead: it translates and compiles it as serving
would, without opening a socket, prints every object's conditions and
exits 1 if anything is not accepted, the data plane would refuse it, a
file does not decode, or DIR holds no YAML file; 0 otherwise.

flags:
`

// standaloneFlags are the parsed flags of "certgate standalone".
type standaloneFlags struct {
	config, metricsAddress string
	check, accessLog       bool
	log                    logFlags
}

// runStandalone is "certgate standalone". It exits 2 on bad flags and 1
// when --check finds a problem; in serve mode a bad resource never ends
// the process, it is reported and the previous configuration keeps serving.
func runStandalone(args []string, stdout, stderr io.Writer) int {
	f, code := parseStandalone(args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if f.check {
		if files.Check(f.config, time.Now(), stdout) {
			return 0
		}
		return 1
	}
	ctx, stop := stopContext()
	defer stop()
	return serveStandalone(ctx, f, stdout, stderr)
}

// parseStandalone parses the flags; code is -1 to go on, otherwise the
// exit status. With --check, DIR may be given by --config or as the one
// argument; flags may come before or after it.
func parseStandalone(args []string, stdout, stderr io.Writer) (f standaloneFlags, code int) {
	c := newCommand("standalone", standaloneUsage, stderr)
	c.StringVar(&f.config, "config", "", "serve (or, with --check, validate) the configuration in this `directory`")
	c.Var((*checkFlag)(&f), "check", "validate the configuration and exit: --check DIR, --check=DIR or --check --config DIR")
	c.StringVar(&f.metricsAddress, "metrics-address", "127.0.0.1:9090", "serve /metrics and /status on this `address` (empty: do not serve)")
	c.BoolVar(&f.accessLog, "access-log", false, "write one JSON line per request to standard error")
	f.log.register(c, "text")
	args, code = parseInterleaved(c, args, stdout, stderr)
	if code >= 0 {
		return f, code
	}
	if err := f.resolve(args); err != nil {
		fmt.Fprintf(stderr, "certgate standalone: %v\n\n", err)
		c.printUsage(stderr)
		return f, 2
	}
	if st, err := os.Stat(f.config); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "certgate standalone: %s is not a directory\n", f.config)
		return f, 2
	}
	return f, -1
}

// parseInterleaved parses flags placed before and after arguments, and
// returns the arguments.
func parseInterleaved(c *command, args []string, stdout, stderr io.Writer) (rest []string, code int) {
	for {
		if code := c.parse(args, stdout, stderr); code >= 0 {
			return nil, code
		}
		if c.NArg() == 0 {
			return rest, -1
		}
		rest, args = append(rest, c.Arg(0)), c.Args()[1:]
	}
}

// checkFlag is --check: a boolean flag, so "--check DIR" leaves DIR as
// the argument, that also takes the directory as its value, so the
// "--check=DIR" form keeps working.
type checkFlag standaloneFlags

func (c *checkFlag) IsBoolFlag() bool { return true }

func (c *checkFlag) String() string {
	if c == nil || !c.check {
		return "false"
	}
	return "true"
}

func (c *checkFlag) Set(v string) error {
	switch v {
	case "true":
		c.check = true
	case "false":
		c.check = false
	default:
		c.check, c.config = true, v
	}
	return nil
}

// resolve takes the directory from --config or, with --check, from the one
// argument, and checks the flags agree.
func (f *standaloneFlags) resolve(args []string) error {
	switch {
	case len(args) > 1 || len(args) == 1 && (!f.check || f.config != ""):
		return fmt.Errorf("unexpected argument %q", args[len(args)-1])
	case len(args) == 1:
		f.config = args[0]
	case f.config == "" && f.check:
		return errors.New("--check needs a directory: --check DIR or --check --config DIR")
	case f.config == "":
		return errors.New("--config DIR is required")
	}
	return f.log.validate()
}

// serveStandalone serves until ctx ends, then drains and returns the exit
// status.
func serveStandalone(ctx context.Context, f standaloneFlags, stdout, stderr io.Writer) int {
	log := f.log.logger(stderr)
	m := metrics.New()
	opts := dataplane.Options{Metrics: m, Log: log}
	if f.accessLog {
		opts.AccessLog = accesslog.NewBuffered(stderr)
	}
	dp := dataplane.New(opts)
	p := files.New(files.Options{Dir: f.config, Dataplane: dp, Out: stdout, Log: log})
	status, err := serveStatus(f.metricsAddress, m.Handler(), p)
	if err != nil {
		fmt.Fprintf(stderr, "certgate standalone: --metrics-address: %v\n", err)
		return 1
	}
	if status != nil {
		fmt.Fprintf(stdout, "metrics on http://%s/metrics, status on http://%s/status\n", status.Addr, status.Addr)
	}
	p.Run(ctx) // until SIGINT or SIGTERM; a bad configuration is printed, not an exit
	fmt.Fprintln(stdout, "shutting down: draining in-flight requests")
	if err := shutdown(dp, status); err != nil {
		fmt.Fprintf(stderr, "certgate standalone: drain: %v\n", err)
	}
	fmt.Fprintln(stdout, "stopped")
	return 0
}
