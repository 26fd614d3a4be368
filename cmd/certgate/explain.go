package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/controllers/files"
	"github.com/certgate/certgate/controllers/pipeline"
	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/snapshot"
)

const explainUsage = `usage: certgate explain --config DIR --host HOST [--path PATH] [FLAGS]

Says what certgate standalone, serving DIR, would do with one request:
which Gateway listener and HTTPRoute rule serve it (or why it is answered
404, 421 or 400), which ClientCertPolicy governs the rule, and the
verdict on the client certificate (pass, missing, pin_mismatch,
path_confusion, policy_invalid, no_tls, ...). DIR is translated and
compiled exactly as standalone does, and the request goes through the
data plane's own decision steps at the current time; no socket is opened.

Without --port or --listener, the lowest port of an HTTPS listener is
used with --tls or --cert, of an HTTP listener otherwise. The connection is TLS
when the chosen port's listeners are HTTPS.

flags:
`

// explainFlags are the parsed flags of "certgate explain".
type explainFlags struct {
	config, host, sni, path, method, listener, cert, output string
	port                                                    int
	tls                                                     bool
	headers                                                 headerFlag
}

// headerFlag is the repeatable --header NAME=VALUE.
type headerFlag []string

func (h *headerFlag) String() string { return strings.Join(*h, ", ") }

func (h *headerFlag) Set(v string) error {
	if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
		return fmt.Errorf("%q: want NAME=VALUE", v)
	}
	*h = append(*h, v)
	return nil
}

// runExplain is "certgate explain". It exits 0 with an explanation, 1
// when DIR cannot be loaded or compiled, 2 on bad flags.
func runExplain(args []string, stdout, stderr io.Writer) int {
	f, code := parseExplain(args, stdout, stderr)
	if code >= 0 {
		return code
	}
	s, notes, err := translateDir(f.config, time.Now())
	if err == nil {
		var out explanation
		if out, err = explainRequest(s, f, time.Now()); err == nil {
			out.Notes = notes
			err = out.print(stdout, f.output)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "certgate explain: %v\n", err)
		return 1
	}
	return 0
}

func parseExplain(args []string, stdout, stderr io.Writer) (f explainFlags, code int) {
	c := newCommand("explain", explainUsage, stderr)
	c.StringVar(&f.config, "config", "", "the configuration `directory`, as certgate standalone --config reads it")
	c.StringVar(&f.host, "host", "", "the request's Host `name` (required)")
	c.StringVar(&f.sni, "sni", "", "the TLS server `name` the client sends, when not the Host's (a 421 is answered when it picks a listener with other client certificate settings)")
	c.StringVar(&f.path, "path", "/", "the request `target`: an escaped path, optionally with ?query")
	c.StringVar(&f.method, "method", http.MethodGet, "the request `method`")
	c.Var(&f.headers, "header", "a request header `NAME=VALUE`; repeat for several")
	c.IntVar(&f.port, "port", 0, "the listener `port` the request arrives on (a listener's port or its Service port)")
	c.StringVar(&f.listener, "listener", "", "arrive on this listener's port: its `name` (section name, gateway/name or namespace/gateway/name)")
	c.BoolVar(&f.tls, "tls", false, "without --port or --listener, pick an HTTPS listener")
	c.StringVar(&f.cert, "cert", "", "the client certificate chain the client presents, a PEM `file` (leaf first); key blocks are ignored")
	c.StringVar(&f.output, "output", "text", "the output `format`: text or json")
	args, code = parseInterleaved(c, args, stdout, stderr)
	if code >= 0 {
		return f, code
	}
	if err := f.validate(args); err != nil {
		fmt.Fprintf(stderr, "certgate explain: %v\n\n", err)
		c.printUsage(stderr)
		return f, 2
	}
	return f, -1
}

func (f *explainFlags) validate(args []string) error {
	switch {
	case len(args) > 0:
		return fmt.Errorf("unexpected argument %q", args[0])
	case f.config == "":
		return errors.New("--config DIR is required")
	case f.host == "":
		return errors.New("--host is required")
	case f.port != 0 && f.listener != "":
		return errors.New("--port and --listener choose the same thing: give one")
	case f.output != "text" && f.output != "json":
		return fmt.Errorf("--output %q: want text or json", f.output)
	}
	if st, err := os.Stat(f.config); err != nil || !st.IsDir() {
		return fmt.Errorf("%s is not a directory", f.config)
	}
	return nil
}

// translateDir loads and translates dir the way standalone does, and
// returns the snapshot with one note per problem its objects have.
func translateDir(dir string, now time.Time) (*snapshot.Snapshot, []string, error) {
	l, err := files.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	var got *snapshot.Snapshot
	r := &pipeline.Runner{
		Dataplane: applierFunc(func(s *snapshot.Snapshot) error { got = s; return nil }),
		Log:       slog.New(slog.DiscardHandler),
		Now:       func() time.Time { return now },
	}
	result, err := r.Run(l.Resources)
	if result == nil {
		return nil, nil, err
	}
	var notes []string
	for _, line := range files.Problems(files.Lines(&result.Status, l)) {
		notes = append(notes, line.Text)
	}
	return got, notes, nil
}

// applierFunc takes the snapshot of a run in place of a data plane.
type applierFunc func(*snapshot.Snapshot) error

func (f applierFunc) Apply(s *snapshot.Snapshot) error { return f(s) }

// explanation is what explain prints.
type explanation struct {
	Request  explainedRequest    `json:"request"`
	Decision *dataplane.Decision `json:"decision"`
	// Notes are the configuration's problems, as standalone --check
	// prints them: they may be why a request is not routed.
	Notes []string `json:"notes,omitempty"`
}

// explainedRequest is the request as explain understood the flags.
type explainedRequest struct {
	Method            string   `json:"method"`
	URL               string   `json:"url"`
	Port              int32    `json:"port"`
	TLS               bool     `json:"tls"`
	Headers           []string `json:"headers,omitempty"`
	ClientCertificate string   `json:"clientCertificate,omitempty"`
}

func explainRequest(s *snapshot.Snapshot, f explainFlags, now time.Time) (explanation, error) {
	port, tls, err := choosePort(s, f)
	if err != nil {
		return explanation{}, err
	}
	req := dataplane.Request{Port: port, TLS: tls, ServerName: f.sni, Host: f.host, Method: f.method, Target: f.path, Header: http.Header{}}
	for _, h := range f.headers {
		name, value, _ := strings.Cut(h, "=")
		req.Header.Add(name, value)
	}
	out := explanation{Request: explainedRequest{Method: f.method, Port: port, TLS: tls, Headers: f.headers}}
	if f.cert != "" {
		if req.Certificates, err = readClientCert(f.cert, tls); err != nil {
			return out, err
		}
		out.Request.ClientCertificate = certSummary(req.Certificates[0])
	}
	out.Request.URL = requestURL(tls, f.host, port, f.path)
	out.Decision, err = dataplane.Explain(s, now, req)
	return out, err
}

// choosePort resolves --port, --listener and --tls to a port, and whether
// its listeners speak TLS.
func choosePort(s *snapshot.Snapshot, f explainFlags) (int32, bool, error) {
	var ls []snapshot.Listener
	for _, l := range s.Listeners {
		if listenerChosen(l, f) {
			ls = append(ls, l)
		}
	}
	if len(ls) == 0 {
		return 0, false, noListener(s, f)
	}
	slices.SortFunc(ls, func(a, b snapshot.Listener) int { return int(a.Port - b.Port) })
	port := ls[0].Port
	if f.port != 0 {
		port = int32(f.port)
	}
	return port, ls[0].Protocol == snapshot.ProtocolHTTPS, nil
}

// listenerChosen reports whether l is on the port the flags ask for.
func listenerChosen(l snapshot.Listener, f explainFlags) bool {
	switch {
	case f.port != 0:
		return int(l.Port) == f.port || int(l.PublicPort) == f.port
	case f.listener != "":
		return l.Name == f.listener || strings.HasSuffix(l.Name, "/"+f.listener)
	default:
		// A client certificate is only presented over TLS.
		return (l.Protocol == snapshot.ProtocolHTTPS) == (f.tls || f.cert != "")
	}
}

// noListener says which listeners there are, for a flag that chose none.
func noListener(s *snapshot.Snapshot, f explainFlags) error {
	var have []string
	for _, l := range s.Listeners {
		have = append(have, fmt.Sprintf("%s (%s port %d)", l.Name, l.Protocol, l.Port))
	}
	what := "no HTTP listener"
	switch {
	case f.port != 0:
		what = fmt.Sprintf("no listener on port %d", f.port)
	case f.listener != "":
		what = fmt.Sprintf("no listener named %q", f.listener)
	case f.tls:
		what = "no HTTPS listener"
	}
	if len(have) == 0 {
		return fmt.Errorf("%s: the configuration serves no listener", what)
	}
	return fmt.Errorf("%s; listeners: %s", what, strings.Join(have, ", "))
}

// readClientCert reads --cert: the chain the client presents.
func readClientCert(file string, tls bool) ([]*x509.Certificate, error) {
	if !tls {
		return nil, errors.New("--cert needs a TLS connection: the chosen port serves plain HTTP")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--cert: %w", err)
	}
	return certificates(file, data, io.Discard)
}

func requestURL(tls bool, host string, port int32, target string) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return scheme + "://" + host + target
	}
	return fmt.Sprintf("%s://%s:%d%s", scheme, host, port, target)
}
