package pipeline

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/controllers/translator"
	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testnet"
	"github.com/certgate/certgate/internal/testpki"
)

const lastGoodHost = "app.example.test"

// refusing passes snapshots to a real data plane unless refuse is set,
// standing in for a snapshot the data plane rejects.
type refusing struct {
	dp     *dataplane.Dataplane
	refuse bool
}

func (r *refusing) Apply(s *snapshot.Snapshot) error {
	if r.refuse {
		return errors.New("refused")
	}
	return r.dp.Apply(s)
}

// servingGateway is one HTTPS Gateway on 127.0.0.1:port whose listener
// serves Secret ns/serving.
func servingGateway(t *testing.T, port int32, secret *corev1.Secret) *resources.Resources {
	t.Helper()
	res := &resources.Resources{}
	for _, o := range []client.Object{
		&gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: gatewayv1.GatewayClassSpec{ControllerName: translator.ControllerName}},
		&gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gw"}, Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "c",
			Listeners: []gatewayv1.Listener{{Name: "https", Port: gatewayv1.PortNumber(port), Protocol: gatewayv1.HTTPSProtocolType,
				TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "serving"}}}}},
		}},
		secret,
	} {
		if err := res.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	res.Sort()
	return res
}

func servingSecret(c *testpki.Cert) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "serving", UID: "serving-1"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: c.CertPEM, corev1.TLSPrivateKeyKey: c.KeyPEM},
	}
}

// servedName completes a TLS handshake with addr and returns the common
// name of the certificate it presents.
func servedName(t *testing.T, ca *testpki.CA, addr string) string {
	t.Helper()
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second}, Config: &tls.Config{RootCAs: ca.Pool(), ServerName: lastGoodHost, MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0].Subject.CommonName
}

// The runner hands each translation the certificates of the last applied
// one: a Secret edited into garbage keeps its listener serving the old
// certificate over real handshakes. A translation the data plane refused
// does not count: the certificate kept is the one actually served.
func TestRunnerKeepsServingTheLastGoodCertificate(t *testing.T) {
	ca := testpki.NewCA(t, "pipeline CA")
	issue := func(cn string) *testpki.Cert {
		return ca.Issue(t, testpki.Options{CommonName: cn, DNSNames: []string{lastGoodHost}})
	}
	first, refused := issue("first"), issue("refused")
	port := int32(testnet.FreePort(t))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	app := &refusing{dp: dataplane.New(dataplane.Options{Metrics: metrics.New()})}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = app.dp.Shutdown(ctx)
	})
	r := &Runner{Dataplane: app, ReleaseAfter: -1, Options: translator.Options{
		GatewayAddress: func(*gatewayv1.Gateway) (string, bool) { return "127.0.0.1", true },
	}}
	secret := servingSecret(first)
	run := func() *translator.Result {
		t.Helper()
		result, _ := r.Run(servingGateway(t, port, secret))
		return result
	}
	run()
	if got := servedName(t, ca, addr); got != "first" {
		t.Fatalf("serves %q, want first", got)
	}
	app.refuse, secret = true, servingSecret(refused)
	run()
	app.refuse = false
	secret.Data[corev1.TLSPrivateKeyKey] = refused.KeyPEM[:len(refused.KeyPEM)/2] // a truncated PEM
	result := run()
	if got := servedName(t, ca, addr); got != "first" {
		t.Errorf("after the Secret was edited into garbage, serves %q, want the last applied one, first", got)
	}
	listener := result.Status.Gateways[0].Status.Listeners[0]
	resolved := meta.FindStatusCondition(listener.Conditions, "ResolvedRefs")
	programmed := meta.FindStatusCondition(listener.Conditions, "Programmed")
	if resolved.Status != metav1.ConditionFalse || !strings.Contains(resolved.Message, "last good certificate") || programmed.Status != metav1.ConditionTrue {
		t.Errorf("ResolvedRefs %s %q, Programmed %s; want False naming the last good certificate, and True", resolved.Status, resolved.Message, programmed.Status)
	}
}
