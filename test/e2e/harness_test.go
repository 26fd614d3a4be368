package e2e_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/kubernetes/provider"
	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/internal/testlog"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/testwait"
	"github.com/certgate/certgate/test/envtest"
)

// host is the hostname every test route serves.
const host = "app.example.test"

// world is one control plane and the PKI the tests share.
type world struct {
	env     *envtest.Env
	c       client.Client
	ca      *testpki.CA
	serving *testpki.Cert
	// Two client identities: the gateway that is pinned and a stranger.
	gatewayCert, strangerCert *testpki.Cert
	// metrics are the main provider's data plane metrics.
	metrics *metrics.Metrics
	// logs holds every provider's log at every level, for tests that
	// check what certgate logs (and never logs).
	logs *testlog.Buffer
}

func newWorld(t testing.TB) *world {
	env := envtest.Start(t)
	ca := testpki.NewCA(t, "e2e CA")
	return &world{
		env: env, c: env.Client, ca: ca,
		serving:      ca.Issue(t, testpki.Options{CommonName: host, DNSNames: []string{host}}),
		gatewayCert:  ca.Issue(t, testpki.Options{CommonName: "api-gateway"}),
		strangerCert: ca.Issue(t, testpki.Options{CommonName: "stranger"}),
		logs:         &testlog.Buffer{},
	}
}

// ctx is a context for API calls that ends with the test.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func (w *world) create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := w.c.Create(ctx(t), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func (w *world) remove(t testing.TB, o client.Object) {
	t.Helper()
	if err := w.c.Delete(ctx(t), o); err != nil {
		t.Fatalf("delete %T %s: %v", o, o.GetName(), err)
	}
}

// provider starts a data plane and a provider for controller; it stops
// with the test.
func (w *world) provider(t testing.TB, controller string, address func(*gatewayv1.Gateway) (string, bool)) (*provider.Provider, *metrics.Metrics) {
	t.Helper()
	return w.providerFor(t, w.env.Config, controller, address)
}

// providerFor is provider with the client configuration cfg.
func (w *world) providerFor(t testing.TB, cfg *rest.Config, controller string, address func(*gatewayv1.Gateway) (string, bool)) (*provider.Provider, *metrics.Metrics) {
	t.Helper()
	return w.providerWith(t, cfg, provider.Options{ControllerName: gatewayv1.GatewayController(controller), GatewayAddress: address})
}

// providerWith is provider with the client configuration cfg and opts,
// whose Dataplane and Log it sets.
func (w *world) providerWith(t testing.TB, cfg *rest.Config, opts provider.Options) (*provider.Provider, *metrics.Metrics) {
	t.Helper()
	p, m, _ := w.runProvider(t, cfg, opts)
	return p, m
}

// runProvider is providerWith that also returns stop, which ends the
// provider's Start and returns its error (the same on every call). The
// test's cleanup stops the provider if the test did not, fails the test
// on Start's error, and shuts the data plane down.
func (w *world) runProvider(t testing.TB, cfg *rest.Config, opts provider.Options) (*provider.Provider, *metrics.Metrics, func() error) {
	t.Helper()
	controller := string(opts.ControllerName)
	level := slog.LevelError
	if os.Getenv("CERTGATE_E2E_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}),
		slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
	)).With("controller", controller)
	m := metrics.New()
	dp := dataplane.New(dataplane.Options{Metrics: m, Log: log})
	opts.Dataplane, opts.Log = dp, log
	p, err := provider.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Start(runCtx) }()
	stop := sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("provider for %s: %v", controller, err)
		}
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = dp.Shutdown(sctx)
	})
	return p, m, stop
}

// rejections is the main data plane's count of requests to ns/route
// rejected for reason.
func (w *world) rejections(t testing.TB, ns, route, reason string) float64 {
	t.Helper()
	families, err := w.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"namespace": ns, "route": route, "reason": reason}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "certgate_clientcert_rejections_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsMatch(m.GetLabel(), want) {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func labelsMatch(labels []*dto.LabelPair, want map[string]string) bool {
	n := 0
	for _, l := range labels {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// app creates what one scenario serves: a namespace, a serving Secret, a
// Gateway of class with an HTTPS listener on port, a backend Service named
// svc in backendNS and a route to it. It returns the route.
func (w *world) app(t testing.TB, ns, class string, port int32, backendNS string) *gatewayv1.HTTPRoute {
	t.Helper()
	w.namespace(t, ns)
	w.create(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "serving"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: w.serving.CertPEM, corev1.TLSPrivateKeyKey: w.serving.KeyPEM},
	})
	w.create(t, &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gw"},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: gatewayv1.ObjectName(class),
			Listeners: []gatewayv1.Listener{{
				Name: "https", Port: port, Protocol: gatewayv1.HTTPSProtocolType,
				TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "serving"}}},
			}},
		},
	})
	w.backend(t, backendNS, "echo")
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{host},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{
					Name: "echo", Namespace: ptr.To(gatewayv1.Namespace(backendNS)), Port: ptr.To(gatewayv1.PortNumber(80)),
				},
			}}}}},
		},
	}
	w.create(t, route)
	return route
}

func (w *world) namespace(t testing.TB, ns string) {
	t.Helper()
	err := w.c.Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// backend serves "ok" on the namespace's test address (EndpointSlices
// refuse loopback) and publishes it as Service ns/name port 80 with a
// hand-made EndpointSlice, as kube-controller-manager would.
func (w *world) backend(t testing.TB, ns, name string) {
	t.Helper()
	w.namespace(t, ns)
	ln, err := net.Listen("tcp", net.JoinHostPort(envtest.TestAddress(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(rw, "ok from %s/%s", ns, name)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	w.publish(t, ns, name, ln)
}

// publish makes ln, listening on the namespace's test address, the one
// endpoint of Service ns/name port 80.
func (w *world) publish(t testing.TB, ns, name string, ln net.Listener) {
	t.Helper()
	port := int32(ln.Addr().(*net.TCPAddr).Port)
	w.create(t, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses: []string{envtest.TestAddress()}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: &port, Protocol: ptr.To(corev1.ProtocolTCP)}},
	})
}

func (w *world) gatewayClass(t testing.TB, name, controller string) {
	t.Helper()
	w.create(t, &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: gatewayv1.GatewayController(controller)},
	})
}

// client returns an HTTPS client that presents cert (nil: none) and
// connects to addr whatever the URL says, keeping connections alive.
func (w *world) client(cert *testpki.Cert, addr string) *http.Client {
	cfg := &tls.Config{RootCAs: w.ca.Pool(), ServerName: host, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert.TLS}
	}
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: cfg,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
}

// status GETs https://host/ and returns the status code (0 on an error).
func status(c *http.Client) (int, error) {
	resp, err := c.Get("https://" + host + "/")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

// wantStatus waits until c gets code.
func wantStatus(t testing.TB, who string, c *http.Client, code int) {
	t.Helper()
	eventually(t, who+" gets "+fmt.Sprint(code), func() error {
		got, err := status(c)
		if got != code {
			return fmt.Errorf("got %d (%v)", got, err)
		}
		return nil
	})
}

// eventually polls check until it returns nil, failing the test after
// 30 seconds with the last error.
func eventually(t testing.TB, what string, check func() error) {
	t.Helper()
	testwait.Until(t, 30*time.Second, what, check)
}

// condition checks that conds has typ with status and, if reason is set,
// that reason; it returns the condition for further checks.
func condition(conds []metav1.Condition, typ string, status metav1.ConditionStatus, reason string) (metav1.Condition, error) {
	c := meta.FindStatusCondition(conds, typ)
	switch {
	case c == nil:
		return metav1.Condition{}, fmt.Errorf("no %s condition in %v", typ, conds)
	case c.Status != status || (reason != "" && c.Reason != reason):
		return *c, fmt.Errorf("%s = %s/%s (%q), want %s/%s", typ, c.Status, c.Reason, c.Message, status, reason)
	}
	return *c, nil
}

// pinLine is the pinsFrom line form of a certificate's SHA-256 pin.
func pinLine(c *testpki.Cert) string {
	sum := sha256.Sum256(c.Leaf.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func sha256Pin(c *testpki.Cert) string {
	sum := sha256.Sum256(c.Leaf.Raw)
	return hex.EncodeToString(sum[:])
}

// pathRoute is an HTTPRoute of gateway gw in ns sending PathPrefix path to
// Service backend port 80.
func pathRoute(ns, name, path, backend string) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: objectMeta(ns, name),
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{host},
			Rules: []gatewayv1.HTTPRouteRule{{
				Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
					Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To(path),
				}}},
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
					Name: gatewayv1.ObjectName(backend), Port: ptr.To(gatewayv1.PortNumber(80)),
				}}}},
			}},
		},
	}
}

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name}
}
