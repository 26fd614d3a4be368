package e2e_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpcstatus "google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/test/envtest"
)

// testGRPCRoutePinnedPerCall: a GRPCRoute whose rule "health" a
// ClientCertPolicy pins, served by the controller from the API server to
// a grpc-go backend. The pinned client's call reaches the backend; a
// stranger's and a certificate-less one get PERMISSION_DENIED, counted
// with route="GRPCRoute/rpc"; a method no rule matches gets
// UNIMPLEMENTED; the GRPCRoute, the policy and the listener say so in
// status.
func (w *world) testGRPCRoutePinnedPerCall(t *testing.T) {
	const ns, port = "grpc", 18461
	w.grpcGateway(t, ns, port)
	w.grpcBackend(t, ns, "rpc")
	w.create(t, &gatewayv1.GRPCRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rpc"},
		Spec: gatewayv1.GRPCRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{grpcHost},
			Rules: []gatewayv1.GRPCRouteRule{{
				Name:    ptr.To(gatewayv1.SectionName("health")),
				Matches: []gatewayv1.GRPCRouteMatch{{Method: &gatewayv1.GRPCMethodMatch{Service: ptr.To("grpc.health.v1.Health"), Method: ptr.To("Check")}}},
				BackendRefs: []gatewayv1.GRPCBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
					Name: "rpc", Port: ptr.To(gatewayv1.PortNumber(9000)),
				}}}},
			}},
		},
	})
	pol := policy(ns, "rpc-pinned", "rpc", v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{{SHA256: sha256Pin(w.gatewayCert)}}})
	pol.Spec.TargetRefs[0].Kind = "GRPCRoute"
	pol.Spec.TargetRefs[0].SectionName = ptr.To(gatewayv1.SectionName("health"))
	w.create(t, pol)
	addr := hostPort("127.0.0.1", port)

	wantCode(t, "the pinned client", w.grpcConn(t, w.gatewayCert, addr), "/grpc.health.v1.Health/Check", codes.OK)
	before := w.rejections(t, ns, "GRPCRoute/rpc", "pin_mismatch")
	wantCode(t, "another client", w.grpcConn(t, w.strangerCert, addr), "/grpc.health.v1.Health/Check", codes.PermissionDenied)
	if got := w.rejections(t, ns, "GRPCRoute/rpc", "pin_mismatch"); got < before+1 {
		t.Errorf("rejections{route=GRPCRoute/rpc, reason=pin_mismatch} = %v, want at least %v", got, before+1)
	}
	wantCode(t, "a client without a certificate", w.grpcConn(t, nil, addr), "/grpc.health.v1.Health/Check", codes.PermissionDenied)
	wantCode(t, "an unrouted method", w.grpcConn(t, w.gatewayCert, addr), "/grpc.health.v1.Health/List", codes.Unimplemented)

	eventually(t, "GRPCRoute Accepted and ResolvedRefs", func() error {
		return w.parentCondition(t, &gatewayv1.GRPCRoute{}, ns, "rpc", controllerName, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	})
	eventually(t, "ClientCertPolicy Accepted", func() error {
		_, err := w.policyCondition(t, ns, "rpc-pinned", "Accepted", metav1.ConditionTrue, "Accepted")
		return err
	})
	eventually(t, "listener counts the GRPCRoute", func() error {
		gw := &gatewayv1.Gateway{}
		if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: "gw"}, gw); err != nil {
			return err
		}
		if len(gw.Status.Listeners) != 1 || gw.Status.Listeners[0].AttachedRoutes != 1 {
			return fmt.Errorf("listeners %+v, want one with 1 attached route", gw.Status.Listeners)
		}
		return nil
	})
}

// grpcGateway creates namespace ns and a Gateway gw of certgate's class
// with an HTTPS listener on port, serving a certificate for
// rpc.example.test.
func (w *world) grpcGateway(t *testing.T, ns string, port int32) {
	t.Helper()
	w.namespace(t, ns)
	serving := w.ca.Issue(t, testpki.Options{CommonName: grpcHost, DNSNames: []string{grpcHost}})
	w.create(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "serving"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: serving.CertPEM, corev1.TLSPrivateKeyKey: serving.KeyPEM},
	}, &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gw"},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: className,
			Listeners: []gatewayv1.Listener{{
				Name: "https", Port: port, Protocol: gatewayv1.HTTPSProtocolType,
				TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "serving"}}},
			}},
		},
	})
}

// grpcHost is the GRPCRoute's hostname.
const grpcHost = "rpc.example.test"

// grpcBackend serves the gRPC health service in cleartext HTTP/2 on the
// namespace's test address, published as Service ns/name port 9000
// (appProtocol kubernetes.io/h2c) with a hand-made EndpointSlice.
func (w *world) grpcBackend(t *testing.T, ns, name string) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(envtest.TestAddress(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	port := int32(ln.Addr().(*net.TCPAddr).Port)
	w.create(t, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Name: "grpc", Port: 9000, Protocol: corev1.ProtocolTCP, AppProtocol: ptr.To("kubernetes.io/h2c"),
		}}},
	}, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses: []string{envtest.TestAddress()}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("grpc"), Port: &port, Protocol: ptr.To(corev1.ProtocolTCP)}},
	})
}

// grpcConn is a gRPC client connection to addr for rpc.example.test,
// presenting cert (nil: none).
func (w *world) grpcConn(t *testing.T, cert *testpki.Cert, addr string) *grpc.ClientConn {
	t.Helper()
	cfg := &tls.Config{RootCAs: w.ca.Pool(), ServerName: grpcHost, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert.TLS}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)), grpc.WithAuthority(grpcHost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// wantCode waits until a call of method on conn ends with code.
func wantCode(t *testing.T, who string, conn *grpc.ClientConn, method string, want codes.Code) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s gets %v", who, want), func() error {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := conn.Invoke(c, method, &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
		if got := grpcstatus.Code(err); got != want {
			return fmt.Errorf("code %v (%v)", got, err)
		}
		return nil
	})
}
