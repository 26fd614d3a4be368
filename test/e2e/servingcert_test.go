package e2e_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/internal/testpki"
)

// testServingSecretEditedIntoGarbageKeepsTheLastGoodCertificate serves
// HTTPS on two listeners of one Gateway, each from its own Secret, with a
// new TLS handshake for every request. The first listener's Secret is
// edited into a key that belongs to another certificate, then into a
// truncated certificate, under continuous traffic to both listeners: every
// handshake on the first still presents the certificate it served before
// (its status says why), the second is untouched, and a valid certificate
// put in the Secret afterwards is served.
func (w *world) testServingSecretEditedIntoGarbageKeepsTheLastGoodCertificate(t *testing.T) {
	const ns, addr, otherAddr = "fault-servingcert", "127.0.0.1:18465", "127.0.0.1:18466"
	other := w.ca.Issue(t, testpki.Options{CommonName: "other listener", DNSNames: []string{host}})
	w.app(t, ns, className, 18465, ns)
	w.create(t, tlsSecret(ns, "other", other))
	w.addListener(t, ns, gatewayv1.Listener{Name: "other", Port: 18466, Protocol: gatewayv1.HTTPSProtocolType,
		TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "other"}}}})
	waitCode(t, "the first listener", w.handshakeClient(addr, w.serving), "/", http.StatusOK, 30*time.Second)
	waitCode(t, "the other listener", w.handshakeClient(otherAddr, other), "/", http.StatusOK, 30*time.Second)
	kept := startLoad("first listener, old certificate, while its Secret is unusable", w.handshakeClient(addr, w.serving), "/", http.StatusOK)
	untouched := startLoad("other listener throughout", w.handshakeClient(otherAddr, other), "/", http.StatusOK)

	stranger := w.ca.Issue(t, testpki.Options{CommonName: "not the serving certificate"})
	w.editSecret(t, ns, "serving", func(s *corev1.Secret) { s.Data[corev1.TLSPrivateKeyKey] = stranger.KeyPEM })
	w.waitLastGoodStatus(t, ns, "tls.key does not belong to the first certificate of tls.crt")
	w.editSecret(t, ns, "serving", func(s *corev1.Secret) { s.Data[corev1.TLSCertKey] = w.serving.CertPEM[:60] })
	w.waitLastGoodStatus(t, ns, "tls.crt: no PEM CERTIFICATE block")
	time.Sleep(2 * time.Second) // more handshakes with the Secret unusable
	kept.finish(t)

	renewed := w.ca.Issue(t, testpki.Options{CommonName: "renewed", DNSNames: []string{host}})
	start := time.Now()
	w.editSecret(t, ns, "serving", func(s *corev1.Secret) {
		s.Data = map[string][]byte{corev1.TLSCertKey: renewed.CertPEM, corev1.TLSPrivateKeyKey: renewed.KeyPEM}
	})
	waitCode(t, "the renewed certificate", w.handshakeClient(addr, renewed), "/", http.StatusOK, 30*time.Second)
	t.Logf("a valid certificate put in the Secret is served after %s", time.Since(start).Round(time.Millisecond))
	after := startLoad("first listener, renewed certificate", w.handshakeClient(addr, renewed), "/", http.StatusOK)
	time.Sleep(time.Second)
	after.finish(t)
	untouched.finish(t)
	w.wantListenerResolved(t, ns, "https")
	for _, l := range []*load{kept, untouched, after} {
		if l.bad.Load() > 0 || l.sent.Load() == 0 {
			t.Errorf("%s: %d of %d requests failed, want 0", l.name, l.bad.Load(), l.sent.Load())
		}
	}
}

func tlsSecret(ns, name string, c *testpki.Cert) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: objectMeta(ns, name),
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: c.CertPEM, corev1.TLSPrivateKeyKey: c.KeyPEM},
	}
}

// handshakeClient is an HTTPS client to addr that opens a new connection,
// so makes a new TLS handshake, for every request, and fails every
// handshake whose server certificate is not want's.
func (w *world) handshakeClient(addr string, want *testpki.Cert) *http.Client {
	cfg := &tls.Config{RootCAs: w.ca.Pool(), ServerName: host, MinVersion: tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if got := cs.PeerCertificates[0]; !bytes.Equal(got.Raw, want.Leaf.Raw) {
				return fmt.Errorf("served %q, want %q", got.Subject.CommonName, want.Leaf.Subject.CommonName)
			}
			return nil
		}}
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: cfg, DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
}

// addListener adds l to Gateway ns/gw.
func (w *world) addListener(t *testing.T, ns string, l gatewayv1.Listener) {
	t.Helper()
	eventually(t, "add listener "+string(l.Name), func() error {
		gw := &gatewayv1.Gateway{}
		if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: "gw"}, gw); err != nil {
			return err
		}
		gw.Spec.Listeners = append(gw.Spec.Listeners, l)
		return w.c.Update(ctx(t), gw)
	})
}

// editSecret changes Secret ns/name in place (its UID stays) with edit.
func (w *world) editSecret(t *testing.T, ns, name string, edit func(*corev1.Secret)) {
	t.Helper()
	eventually(t, "edit Secret "+name, func() error {
		s := &corev1.Secret{}
		if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: name}, s); err != nil {
			return err
		}
		edit(s)
		return w.c.Update(ctx(t), s)
	})
}

// waitLastGoodStatus waits until listener "https" of ns/gw reports its
// Secret unusable for problem while serving the last good certificate,
// programmed, and listener "other" resolved and programmed; it logs how
// long that took.
func (w *world) waitLastGoodStatus(t *testing.T, ns, problem string) {
	t.Helper()
	start := time.Now()
	eventually(t, "listener https reports "+problem, func() error {
		ls, err := w.listenerConditions(t, ns)
		if err != nil {
			return err
		}
		c, err := condition(ls["https"], "ResolvedRefs", metav1.ConditionFalse, "InvalidCertificateRef")
		if err != nil {
			return err
		}
		for _, want := range []string{"Secret " + ns + "/serving", problem, "keeps serving the last good certificate"} {
			if !strings.Contains(c.Message, want) {
				return fmt.Errorf("ResolvedRefs message %q does not say %q", c.Message, want)
			}
		}
		return errors.Join(
			conditionErr(condition(ls["https"], "Programmed", metav1.ConditionTrue, "Programmed")),
			conditionErr(condition(ls["other"], "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")),
			conditionErr(condition(ls["other"], "Programmed", metav1.ConditionTrue, "Programmed")))
	})
	t.Logf("status reports %q with the last good certificate served after %s", problem, time.Since(start).Round(time.Millisecond))
}

// wantListenerResolved waits until listener name of ns/gw is resolved.
func (w *world) wantListenerResolved(t *testing.T, ns, name string) {
	t.Helper()
	eventually(t, "listener "+name+" resolved", func() error {
		ls, err := w.listenerConditions(t, ns)
		if err != nil {
			return err
		}
		return conditionErr(condition(ls[name], "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs"))
	})
}

// listenerConditions are the conditions of each listener of ns/gw.
func (w *world) listenerConditions(t *testing.T, ns string) (map[string][]metav1.Condition, error) {
	gw := &gatewayv1.Gateway{}
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: "gw"}, gw); err != nil {
		return nil, err
	}
	out := map[string][]metav1.Condition{}
	for _, l := range gw.Status.Listeners {
		out[string(l.Name)] = l.Conditions
	}
	return out, nil
}

func conditionErr(_ metav1.Condition, err error) error { return err }
