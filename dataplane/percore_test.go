package dataplane_test

import (
	"bufio"
	"context"
	"crypto/sha1" //nolint:gosec // nginx's $ssl_client_fingerprint is SHA-1; it names the certificate, it secures nothing here.
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/runtimeconfig"
	"github.com/certgate/certgate/internal/testpki"
)

// perCoreEnv, set to a directory, makes the test binary serve the
// snapshot written there instead of running tests: the proxy process of
// BenchmarkPerCore.
const perCoreEnv = "CERTGATE_PERCORE_PROXY"

// perCoreProfileEnv, set to a file name, makes the proxy process write a
// CPU profile of the whole run there.
const perCoreProfileEnv = "CERTGATE_PERCORE_CPUPROFILE"

// TestMain lets BenchmarkPerCore start the data plane as a process of its
// own, on a CPU of its own, so its CPU time can be read from /proc.
func TestMain(m *testing.M) {
	if dir := os.Getenv(perCoreEnv); dir != "" {
		os.Exit(servePerCore(dir))
	}
	os.Exit(m.Run())
}

// Per-core benchmark settings: measured seconds per sample, warm-up before
// each, interleaved rounds, keep-alive connections of the load generator.
const (
	perCoreWindow  = 3 * time.Second
	perCoreWarmup  = 500 * time.Millisecond
	perCoreClients = 32
	perCoreHost    = "bench.example.com"
)

// perCoreScenario is one keep-alive scenario: its port offset in a
// proxy's three ports, TLS, and whether the client presents its
// certificate to a route that pins it.
type perCoreScenario struct {
	name   string
	port   int
	tls    bool
	mtls   bool
	result map[string][]float64
}

// perCoreRounds is the number of interleaved rounds; figures are medians.
var perCoreRounds = flag.Int("percore.rounds", 3, "interleaved rounds of BenchmarkPerCore")

// perCoreVariant, when set, adds a second certgate process to the rounds
// with these extra environment variables (for example "GOGC=100"), for an
// A/B comparison within one run.
var perCoreVariant = flag.String("percore.variant", "", "environment of an extra certgate process, space-separated")

// perCoreVariantBinary, when set, is the test binary the variant process
// runs instead of this one: this package's test binary built from another
// commit, for a before/after comparison within one run.
var perCoreVariantBinary = flag.String("percore.variant-binary", "", "test binary of the extra certgate process")

// BenchmarkPerCore measures requests per proxy CPU-second: the proxy alone
// on CPU 0 (GOMAXPROCS=1; nginx with one process), the Go backend and the
// Go keep-alive load generator on CPU 1, CPU time read from /proc. nginx,
// when installed, runs in the same rounds for a ratio. Run it alone:
//
//	go test -run '^$' -bench PerCore -benchtime 1x ./dataplane/
func BenchmarkPerCore(b *testing.B) {
	if err := exec.Command("taskset", "-a", "-p", "-c", "1", strconv.Itoa(os.Getpid())).Run(); err != nil {
		b.Fatalf("pin the benchmark to CPU 1: %v", err)
	}
	p := benchPKI(b)
	backend := perCoreBackend(b)
	dir := b.TempDir()
	proxies := map[string][3]int{"certgate": startPerCoreCertgate(b, dir, "certgate", p, backend)}
	if *perCoreVariant != "" || *perCoreVariantBinary != "" {
		proxies["variant"] = startPerCoreCertgate(b, dir, "variant", p, backend, strings.Fields(*perCoreVariant)...)
	}
	if _, err := exec.LookPath("nginx"); err == nil {
		proxies["nginx"] = startPerCoreNginx(b, dir, p, backend)
	}
	scenarios := []*perCoreScenario{
		{name: "http", port: 0}, {name: "https", port: 1, tls: true}, {name: "mtls-pinned", port: 2, tls: true, mtls: true},
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range proxies {
			if !yield(n) {
				return
			}
		}
	})
	for b.Loop() {
		for range *perCoreRounds {
			for _, sc := range scenarios {
				for _, n := range names {
					ports := proxies[n]
					sc.record(n, measurePerCore(b, perCorePID(b, dir, n), ports[sc.port], sc, p))
				}
			}
		}
	}
	for _, sc := range scenarios {
		ours := median(sc.result["certgate"])
		b.ReportMetric(ours, sc.name+"-req/cpu-s")
		if v := sc.result["variant"]; len(v) > 0 {
			b.ReportMetric(median(v), sc.name+"-variant-req/cpu-s")
			b.ReportMetric(ours/median(v), sc.name+"-x-variant")
		}
		if peer := sc.result["nginx"]; len(peer) > 0 {
			b.ReportMetric(median(peer), sc.name+"-nginx-req/cpu-s")
			b.ReportMetric(ours/median(peer), sc.name+"-x-nginx")
		}
	}
}

func (sc *perCoreScenario) record(proxy string, v float64) {
	if sc.result == nil {
		sc.result = map[string][]float64{}
	}
	sc.result[proxy] = append(sc.result[proxy], v)
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

// perCoreBody is the backend's answer: a small JSON document, as an API
// backend would send.
var perCoreBody = []byte(`{"ok":true,"service":"bench","items":[1,2,3,4,5,6,7,8]}` + "\n")

func perCoreBackend(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(perCoreBody)))
		_, _ = w.Write(perCoreBody)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// perCoreSnapshot has the three scenarios' listeners: HTTP, HTTPS, and
// HTTPS with a route that pins the client certificate and verifies it to
// its CA.
func perCoreSnapshot(p *benchCerts, backendAddr string, ports [3]int) *snapshot.Snapshot {
	host, port, _ := net.SplitHostPort(backendAddr)
	bport, _ := strconv.Atoi(port)
	backend := snapshot.WeightedBackend{Weight: 1, Backend: snapshot.Backend{
		Name: "default/bench:80", Namespace: "default", Service: "bench", Port: 80,
		Endpoints: []snapshot.Endpoint{{Address: host, Port: int32(bport)}},
	}}
	open := prefixRule("/", backend)
	pinned := prefixRule("/", backend)
	fp := pin.Of(p.client.Leaf)
	pinned.ClientCert = &snapshot.Requirement{
		Policy: "default/bench", Pins: []pin.Pin{{Algorithm: pin.SHA256, Digest: fp.SHA256[:]}},
		CACertificates: []snapshot.CACertificate{{Name: "default/bench-ca", PEM: p.ca.PEM}},
	}
	return &snapshot.Snapshot{Listeners: []snapshot.Listener{
		httpListener("http", int32(ports[0]), route("bench", nil, open)),
		httpsListener("https", int32(ports[1]), "", []*testpki.Cert{p.serving}, route("bench", nil, open)),
		httpsListener("mtls", int32(ports[2]), "", []*testpki.Cert{p.serving}, route("bench", nil, pinned)),
	}}
}

func perCorePorts(b *testing.B) [3]int {
	return [3]int{int(freePort(b)), int(freePort(b)), int(freePort(b))}
}

// startPerCoreCertgate starts this test binary as the proxy process.
func startPerCoreCertgate(b *testing.B, dir, name string, p *benchCerts, backendAddr string, env ...string) [3]int {
	ports := perCorePorts(b)
	snap := perCoreSnapshot(p, backendAddr, ports)
	for i := range snap.Listeners {
		if t := snap.Listeners[i].TLS; t != nil {
			t.Certificates[0].Key = nil // written apart: its JSON form is redacted
		}
	}
	s, err := json.Marshal(snap)
	if err != nil {
		b.Fatal(err)
	}
	sub := filepath.Join(dir, name)
	mustWrite(b, filepath.Join(sub, "snapshot.json"), s)
	mustWrite(b, filepath.Join(sub, "key.pem"), p.serving.KeyPEM)
	binary := os.Args[0]
	if name == "variant" && *perCoreVariantBinary != "" {
		binary = *perCoreVariantBinary
	}
	cmd := exec.Command("taskset", "-c", "0", binary, "-test.run=^$")
	cmd.Env = append(append(os.Environ(), perCoreEnv+"="+sub, "GOMAXPROCS=1"), env...)
	startPerCoreProcess(b, cmd, sub, ports)
	return ports
}

// startPerCoreProcess starts cmd, keeps its pid in dir, waits for its
// ports and stops it at the end of the benchmark.
func startPerCoreProcess(b *testing.B, cmd *exec.Cmd, dir string, ports [3]int) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", cmd.Path, err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	mustWrite(b, filepath.Join(dir, "pid"), []byte(strconv.Itoa(cmd.Process.Pid)))
	for _, port := range ports {
		waitPort(b, port)
	}
}

func waitPort(b *testing.B, port int) {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return
		}
	}
	b.Fatalf("nothing listens on port %d", port)
}

func mustWrite(b *testing.B, path string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
}

func perCorePID(b *testing.B, dir, proxy string) int {
	data, err := os.ReadFile(filepath.Join(dir, proxy, "pid"))
	if err != nil {
		b.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		b.Fatal(err)
	}
	return pid
}

// servePerCore is the proxy process: it applies the snapshot in dir, with
// metrics and an access log written to /dev/null and the runtime
// settings of cmd/certgate, and serves until its
// standard input closes.
func servePerCore(dir string) int {
	runtimeconfig.Apply() // as cmd/certgate does
	data, err := os.ReadFile(filepath.Join(dir, "snapshot.json"))
	if err == nil {
		var key []byte
		if key, err = os.ReadFile(filepath.Join(dir, "key.pem")); err == nil {
			err = applyPerCore(data, key)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "per-core proxy:", err)
		return 1
	}
	if path := os.Getenv(perCoreProfileEnv); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

func applyPerCore(data, key []byte) error {
	var s snapshot.Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	for i := range s.Listeners {
		if t := s.Listeners[i].TLS; t != nil {
			t.Certificates[0].Key = snapshot.PrivateKey(key)
		}
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	dp := dataplane.New(dataplane.Options{Metrics: metrics.New(), AccessLog: accesslog.NewBuffered(devNull)})
	return dp.Apply(&s)
}

// startPerCoreNginx runs nginx as one process (no master) on CPU 0, with
// the same three scenarios: keep-alive connections to the backend, and on
// the mTLS port CA verification plus the certificate's fingerprint (SHA-1,
// the one nginx exposes) compared in the route.
func startPerCoreNginx(b *testing.B, dir string, p *benchCerts, backendAddr string) [3]int {
	ports := perCorePorts(b)
	sub := filepath.Join(dir, "nginx")
	mustWrite(b, filepath.Join(sub, "cert.pem"), p.serving.CertPEM)
	mustWrite(b, filepath.Join(sub, "key.pem"), p.serving.KeyPEM)
	mustWrite(b, filepath.Join(sub, "ca.pem"), p.ca.PEM)
	sum := sha1.Sum(p.client.Leaf.Raw) //nolint:gosec // see the import
	conf := fmt.Sprintf(nginxConf, sub, backendAddr, ports[0], ports[1], ports[2], hex.EncodeToString(sum[:]))
	mustWrite(b, filepath.Join(sub, "nginx.conf"), []byte(conf))
	cmd := exec.Command("taskset", "-c", "0", "nginx", "-p", sub, "-c", filepath.Join(sub, "nginx.conf"), "-e", filepath.Join(sub, "error.log"))
	startPerCoreProcess(b, cmd, sub, ports)
	return ports
}

// nginxConf: %[1]s directory, %[2]s backend, %[3]d-%[5]d ports, %[6]s the
// client certificate's SHA-1.
const nginxConf = `
daemon off; master_process off; worker_processes 1;
pid %[1]s/nginx.pid; error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log /dev/null;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi; uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  keepalive_requests 1000000;
  upstream backend { server %[2]s; keepalive 128; keepalive_requests 1000000; }
  ssl_certificate %[1]s/cert.pem; ssl_certificate_key %[1]s/key.pem;
  ssl_protocols TLSv1.3; ssl_ecdh_curve X25519;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $scheme;
  server { listen 127.0.0.1:%[3]d; location / { proxy_pass http://backend; } }
  server { listen 127.0.0.1:%[4]d ssl; location / { proxy_pass http://backend; } }
  server {
    listen 127.0.0.1:%[5]d ssl;
    ssl_verify_client on; ssl_client_certificate %[1]s/ca.pem;
    location / {
      if ($ssl_client_fingerprint != "%[6]s") { return 403; }
      proxy_pass http://backend;
    }
  }
}
`

// procCPU is the user plus system CPU time of process pid.
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are the 12th and 13th of them.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// measurePerCore drives port for the window and returns requests per CPU
// second of process pid.
func measurePerCore(b *testing.B, pid, port int, sc *perCoreScenario, p *benchCerts) float64 {
	var count atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var failure atomic.Pointer[error]
	for range perCoreClients {
		wg.Go(func() {
			if err := perCoreClient(ctx, port, sc, p, &count); err != nil && ctx.Err() == nil {
				failure.CompareAndSwap(nil, &err)
				cancel()
			}
		})
	}
	time.Sleep(perCoreWarmup)
	cpu0, n0 := procCPU(b, pid), count.Load()
	time.Sleep(perCoreWindow)
	cpu1, n1 := procCPU(b, pid), count.Load()
	cancel()
	wg.Wait()
	if err := failure.Load(); err != nil {
		b.Fatalf("%s on port %d: %v", sc.name, port, *err)
	}
	return float64(n1-n0) / (cpu1 - cpu0).Seconds()
}

// perCoreClient sends requests one after another on one keep-alive
// connection until ctx ends.
func perCoreClient(ctx context.Context, port int, sc *perCoreScenario, p *benchCerts, count *atomic.Int64) error {
	return perCoreClientN(ctx, port, sc, p, count, nil)
}

// perCoreClientN is perCoreClient; with b, it sends b.N requests after a
// first untimed one.
func perCoreClientN(ctx context.Context, port int, sc *perCoreScenario, p *benchCerts, count *atomic.Int64, b *testing.B) error {
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	if sc.tls {
		cfg := &tls.Config{RootCAs: p.ca.Pool(), ServerName: perCoreHost, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}, NextProtos: []string{"http/1.1"}}
		if sc.mtls {
			cfg.Certificates = []tls.Certificate{*p.client.TLS}
		}
		conn = tls.Client(conn, cfg)
	}
	x := &perCoreExchange{conn: conn, br: bufio.NewReader(conn)}
	if b == nil {
		for ctx.Err() == nil {
			if err := x.do(); err != nil {
				return err
			}
			count.Add(1)
		}
		return nil
	}
	if err := x.do(); err != nil {
		return err
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := x.do(); err != nil {
			return err
		}
	}
	return nil
}

// perCoreRequest is the load generator's request.
var perCoreRequest = []byte("GET /bench/items?page=1 HTTP/1.1\r\nHost: " + perCoreHost + "\r\nUser-Agent: certgate-bench\r\nAccept: */*\r\n\r\n")

// perCoreExchange is one client connection of the load generator.
type perCoreExchange struct {
	conn net.Conn
	br   *bufio.Reader
}

// do sends one request and reads its response.
func (x *perCoreExchange) do() error {
	if _, err := x.conn.Write(perCoreRequest); err != nil {
		return err
	}
	res, err := http.ReadResponse(x.br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// BenchmarkServe sends requests one after another over one keep-alive
// connection through the data plane in this process (its metrics and an
// access log to /dev/null included), and straight to the backend as
// "direct": the data plane's own allocations and time per request are the
// difference. For pprof: -cpuprofile, -memprofile.
func BenchmarkServe(b *testing.B) {
	p := benchPKI(b)
	backendAddr := perCoreBackend(b)
	ports := perCorePorts(b)
	s := perCoreSnapshot(p, backendAddr, ports)
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	dp := dataplane.New(dataplane.Options{Metrics: metrics.New(), AccessLog: accesslog.NewBuffered(devNull)})
	if err := dp.Apply(s); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = dp.Shutdown(context.Background()) }()
	_, bport, _ := net.SplitHostPort(backendAddr)
	direct, _ := strconv.Atoi(bport)
	for _, tc := range []struct {
		sc   perCoreScenario
		port int
	}{
		{perCoreScenario{name: "direct"}, direct},
		{perCoreScenario{name: "http"}, ports[0]},
		{perCoreScenario{name: "https", tls: true}, ports[1]},
		{perCoreScenario{name: "mtls-pinned", tls: true, mtls: true}, ports[2]},
	} {
		b.Run(tc.sc.name, func(b *testing.B) {
			var count atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The first request opens the connections; the timer starts after it.
			err := perCoreClientN(ctx, tc.port, &tc.sc, p, &count, b)
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}
