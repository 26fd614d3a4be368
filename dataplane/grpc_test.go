package dataplane_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// healthCheck is the one gRPC method the tests call: the standard health
// service, served by grpc-go itself, so no generated code is needed.
const healthCheck = "/grpc.health.v1.Health/Check"

// grpcBackend is a grpc-go server speaking cleartext HTTP/2 on loopback,
// serving the health service; it records the metadata of the last call.
type grpcBackend struct {
	addr *net.TCPAddr
	mu   sync.Mutex
	md   metadata.MD
	hits int
}

func newGRPCBackend(t *testing.T, opts ...grpc.ServerOption) *grpcBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &grpcBackend{addr: ln.Addr().(*net.TCPAddr)}
	srv := grpc.NewServer(append(opts, grpc.UnaryInterceptor(b.record))...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return b
}

func (b *grpcBackend) record(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	b.mu.Lock()
	b.md, b.hits = md, b.hits+1
	b.mu.Unlock()
	return next(ctx, req)
}

func (b *grpcBackend) calls() (int, metadata.MD) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits, b.md
}

// weighted describes b as an h2c snapshot backend (kubernetes.io/h2c).
func (b *grpcBackend) weighted() snapshot.WeightedBackend {
	return snapshot.WeightedBackend{Weight: 1, Backend: snapshot.Backend{
		Name: "default/grpc:9000", Namespace: "default", Service: "grpc", Port: 9000, AppProtocol: snapshot.AppProtocolH2C,
		Endpoints: []snapshot.Endpoint{{Address: b.addr.IP.String(), Port: int32(b.addr.Port)}},
	}}
}

// grpcRule is a GRPCRoute rule as the translator writes it: a POST with a
// gRPC content type to an exact /service/method path.
func grpcRule(name, path string, req *snapshot.Requirement, backends ...snapshot.WeightedBackend) snapshot.Rule {
	return snapshot.Rule{Name: name, ClientCert: req, Backends: backends, Matches: []snapshot.Match{{
		Method:  "POST",
		Path:    &snapshot.PathMatch{Type: snapshot.PathExact, Value: path},
		Headers: []snapshot.ValueMatch{{Type: snapshot.MatchRegularExpression, Name: "Content-Type", Value: `application/grpc([+;].*)?`}},
	}}}
}

// grpcRoute is a GRPCRoute in namespace default.
func grpcRoute(name string, rules ...snapshot.Rule) snapshot.Route {
	r := route(name, nil, rules...)
	r.Kind = snapshot.RouteKindGRPC
	return r
}

// dialGRPC opens a gRPC client connection to the gateway's port on
// loopback, with :authority api.example.com; cfg nil means h2c.
func dialGRPC(t *testing.T, port int32, cfg *tls.Config) *grpc.ClientConn {
	t.Helper()
	creds := insecure.NewCredentials()
	if cfg != nil {
		cfg.ServerName = "api.example.com"
		creds = credentials.NewTLS(cfg)
	}
	conn, err := grpc.NewClient(net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))),
		grpc.WithTransportCredentials(creds), grpc.WithAuthority("api.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// call invokes method with an empty health request and returns its gRPC
// status code.
func call(t *testing.T, conn *grpc.ClientConn, method string, md ...string) (codes.Code, metadata.MD) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, md...)
	var header metadata.MD
	err := conn.Invoke(ctx, method, &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}, grpc.Header(&header))
	return status.Code(err), header
}

func TestGRPCCallsArePinnedPerRouteOverTLS(t *testing.T) {
	g := newGateway(t)
	be := newGRPCBackend(t)
	p := newPKI(t)
	port := freePort(t)
	req := &snapshot.Requirement{Policy: "default/pinned", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, grpcRoute("health", grpcRule("check", healthCheck, req, be.weighted()))))

	code, _ := call(t, dialGRPC(t, port, tlsClient(p.servingCA, p.pinned)), healthCheck)
	if hits, _ := be.calls(); code != codes.OK || hits != 1 {
		t.Fatalf("pinned client: code %v, backend calls %d; want OK and 1", code, hits)
	}
	for _, tt := range []struct {
		name   string
		cert   *testpki.Cert
		reason string
	}{{"no certificate", nil, "missing"}, {"stranger", p.unpinned, "pin_mismatch"}} {
		t.Run(tt.name, func(t *testing.T) {
			before := g.rejections("GRPCRoute/health", "check", tt.reason, "enforce")
			code, _ := call(t, dialGRPC(t, port, tlsClient(p.servingCA, tt.cert)), healthCheck)
			if code != codes.PermissionDenied {
				t.Fatalf("code %v, want PermissionDenied", code)
			}
			if got := g.rejections("GRPCRoute/health", "check", tt.reason, "enforce"); got != before+1 {
				t.Errorf("rejections{route=GRPCRoute/health, reason=%s} = %v, want %v", tt.reason, got, before+1)
			}
		})
	}
	if hits, _ := be.calls(); hits != 1 {
		t.Errorf("backend calls %d after the refused ones, want 1", hits)
	}
	if got := g.verified("GRPCRoute/health", "check"); got != 1 {
		t.Errorf("verified{route=GRPCRoute/health} = %v, want 1", got)
	}
	if !strings.Contains(g.log.String(), `"route":"default/GRPCRoute/health","rule":"check","method":"POST","host":"api.example.com","path":"/grpc.health.v1.Health/Check","status":403`) {
		t.Errorf("the access log does not record the refusal as 403 on the GRPCRoute:\n%s", g.log.String())
	}
}

func TestGRPCOverH2CListenerForwardsFiltersAndAnswersUnimplemented(t *testing.T) {
	g := newGateway(t)
	be := newGRPCBackend(t)
	port := freePort(t)
	rule := grpcRule("check", healthCheck, nil, be.weighted())
	rule.Filters = []snapshot.Filter{
		{Type: snapshot.FilterRequestHeaderModifier, RequestHeaderModifier: &snapshot.HeaderModifier{Set: []snapshot.Header{{Name: "x-route", Value: "check"}}}},
		{Type: snapshot.FilterResponseHeaderModifier, ResponseHeaderModifier: &snapshot.HeaderModifier{Add: []snapshot.Header{{Name: "x-served-by", Value: "certgate"}}}},
	}
	g.apply(httpListener("http", port, grpcRoute("health", rule)))
	conn := dialGRPC(t, port, nil)

	code, header := call(t, conn, healthCheck, "x-route", "client")
	_, md := be.calls()
	if code != codes.OK {
		t.Fatalf("code %v, want OK", code)
	}
	if got := md.Get("x-route"); len(got) != 1 || got[0] != "check" {
		t.Errorf("backend saw x-route %q, want [check]", got)
	}
	if got := header.Get("x-served-by"); len(got) != 1 || got[0] != "certgate" {
		t.Errorf("client saw x-served-by %q, want [certgate]", got)
	}
	if code, _ := call(t, conn, "/grpc.health.v1.Health/List"); code != codes.Unimplemented {
		t.Errorf("unrouted method: code %v, want Unimplemented", code)
	}
	if !strings.Contains(g.log.String(), `"path":"/grpc.health.v1.Health/List","status":404`) {
		t.Errorf("the access log does not record the unrouted call as 404:\n%s", g.log.String())
	}
}

// A gRPC backend behind a BackendTLSPolicy: TLS to the backend, verified
// against its CA, with h2 by ALPN (grpc-go's server refuses anything else).
func TestGRPCReachesATLSBackend(t *testing.T) {
	g := newGateway(t)
	backendCA := testpki.NewCA(t, "backend CA")
	cert := backendCA.Issue(t, testpki.Options{CommonName: "rpc", DNSNames: []string{"rpc.internal"}})
	be := newGRPCBackend(t, grpc.Creds(credentials.NewServerTLSFromCert(cert.TLS)))
	port := freePort(t)
	target := be.weighted()
	target.TLS = &snapshot.BackendTLS{ServerName: "rpc.internal", CACertificates: []snapshot.CACertificate{{Name: "default/backend-ca", PEM: backendCA.PEM}}}
	g.apply(httpListener("http", port, grpcRoute("health", grpcRule("check", healthCheck, nil, target))))
	if code, _ := call(t, dialGRPC(t, port, nil), healthCheck); code != codes.OK {
		t.Fatalf("code %v, want OK", code)
	}
	if hits, _ := be.calls(); hits != 1 {
		t.Errorf("backend calls %d, want 1", hits)
	}
}

func TestGRPCCallWithoutEndpointIsUnavailable(t *testing.T) {
	g := newGateway(t)
	port := freePort(t)
	empty := snapshot.WeightedBackend{Weight: 1, Backend: snapshot.Backend{
		Name: "default/grpc:9000", Namespace: "default", Service: "grpc", Port: 9000, AppProtocol: snapshot.AppProtocolH2C,
	}}
	g.apply(httpListener("http", port, grpcRoute("health", grpcRule("check", healthCheck, nil, empty))))
	if code, _ := call(t, dialGRPC(t, port, nil), healthCheck); code != codes.Unavailable {
		t.Errorf("code %v, want Unavailable", code)
	}
}

// A backend may read /grpc.health.v1.health/check as the guarded method
// (grpc-go does not, others that fold case or trim do): the path
// confusion guard judges the guarded rule's requirement for it, as for an
// HTTPRoute, and the gateway answers PERMISSION_DENIED.
func TestGRPCPathConfusionIsPermissionDenied(t *testing.T) {
	g := newGateway(t)
	be := newGRPCBackend(t)
	p := newPKI(t)
	port := freePort(t)
	req := &snapshot.Requirement{Policy: "default/pinned", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}
	open := grpcRule("open", "/", nil, be.weighted())
	open.Matches[0].Path.Type = snapshot.PathPrefix
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving},
		grpcRoute("health", grpcRule("check", healthCheck, req, be.weighted()), open)))
	conn := dialGRPC(t, port, tlsClient(p.servingCA, p.unpinned))

	before := g.rejections("GRPCRoute/health", "check", "path_confusion", "enforce")
	if code, _ := call(t, conn, "/grpc.health.v1.Health/CHECK"); code != codes.PermissionDenied {
		t.Errorf("case-folded method: code %v, want PermissionDenied", code)
	}
	if got := g.rejections("GRPCRoute/health", "check", "path_confusion", "enforce"); got != before+1 {
		t.Errorf("path_confusion rejections = %v, want %v", got, before+1)
	}
	if hits, _ := be.calls(); hits != 0 {
		t.Errorf("backend calls %d, want 0", hits)
	}
}

// TestExplainGivesTheGRPCStatusOfAGRPCCall: Explain names the route of a
// gRPC call the way the access log does, and for a call the gateway
// answers itself, the grpc-status its client gets.
func TestExplainGivesTheGRPCStatusOfAGRPCCall(t *testing.T) {
	p := newPKI(t)
	req := &snapshot.Requirement{Policy: "default/pinned", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}
	be := snapshot.WeightedBackend{Weight: 1, Backend: snapshot.Backend{Name: "default/grpc:9000", Namespace: "default", Service: "grpc", Port: 9000,
		Endpoints: []snapshot.Endpoint{{Address: "127.0.0.1", Port: 9000}}}}
	s := &snapshot.Snapshot{Listeners: []snapshot.Listener{httpsListener("https", 8443, "", []*testpki.Cert{p.serving},
		grpcRoute("health", grpcRule("check", healthCheck, req, be)))}}
	grpcHeader := http.Header{"Content-Type": {"application/grpc"}}
	for _, tt := range []struct {
		path   string
		certs  []*x509.Certificate
		status int
		grpc   string
	}{
		{healthCheck, []*x509.Certificate{p.pinned.Leaf}, 0, ""},
		{healthCheck, nil, http.StatusForbidden, "PERMISSION_DENIED"},
		{"/grpc.health.v1.Health/List", nil, http.StatusNotFound, "UNIMPLEMENTED"},
	} {
		d, err := dataplane.Explain(s, time.Now(), dataplane.Request{Port: 8443, TLS: true, Host: "api.example.com", Method: "POST", Target: tt.path, Header: grpcHeader, Certificates: tt.certs})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if d.GRPCStatus != nil {
			got = d.GRPCStatus.Name
		}
		if d.Status != tt.status || got != tt.grpc {
			t.Errorf("%s: status %d, gRPC %q; want %d, %q", tt.path, d.Status, got, tt.status, tt.grpc)
		}
		if tt.status != http.StatusNotFound && d.Route != "default/GRPCRoute/health" {
			t.Errorf("%s: route %q, want default/GRPCRoute/health", tt.path, d.Route)
		}
	}
}
