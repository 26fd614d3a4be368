package e2e_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/internal/testpki"
)

// testRenewedPEMKeepsThePreviousPin pins a route to tls.crt of a Secret
// with keepPrevious 8s and renews the certificate with a new key, as
// cert-manager does. Within keepPrevious the previous client still passes
// (counted as a retiring pin pass) and status lists the retiring pin with
// its expiry; a second certgate process started after the renewal, which
// never saw the previous certificate, accepts it too, from the status it
// read; after keepPrevious the previous client gets 403 on its open
// connection, and status drops the pin.
func (w *world) testRenewedPEMKeepsThePreviousPin(t *testing.T) {
	const ns, port = "pem-renewal", 18452
	w.app(t, ns, className, port, ns)
	previous := w.ca.Issue(t, testpki.Options{CommonName: "partner"})
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "partner-client"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: previous.CertPEM, corev1.TLSPrivateKeyKey: previous.KeyPEM},
	}
	w.create(t, secret, policy(ns, "partner", "api", v1alpha1.ClientCertPolicySpec{
		PinsFrom: []v1alpha1.PinSource{{Kind: v1alpha1.KindSecret, Name: "partner-client", Key: corev1.TLSCertKey,
			KeepPrevious: &metav1.Duration{Duration: 8 * time.Second}}},
	}))
	oldClient := w.client(previous, hostPort("127.0.0.1", port))
	wantStatus(t, "the client whose certificate is in the Secret", oldClient, http.StatusOK)
	eventually(t, "status records the PEM pin", func() error { return w.wantPolicyPins(t, ns, "partner", pinLine(previous), "") })

	renewed := w.ca.Issue(t, testpki.Options{CommonName: "partner"})
	w.replaceCertificate(t, secret, renewed)
	wantStatus(t, "the renewed client", w.client(renewed, hostPort("127.0.0.1", port)), http.StatusOK)
	if code, err := status(oldClient); code != http.StatusOK {
		t.Fatalf("the previous client within keepPrevious: %d (%v), want 200", code, err)
	}
	if n := w.retiringPasses(t, ns, "api"); n < 1 {
		t.Errorf("certgate_clientcert_retiring_pin_passes_total = %v, want at least 1", n)
	}
	eventually(t, "status lists the retiring pin", func() error { return w.wantPolicyPins(t, ns, "partner", pinLine(renewed), pinLine(previous)) })

	// A process that starts now knows the previous pin only from status.
	w.provider(t, controllerName, func(*gatewayv1.Gateway) (string, bool) { return "127.0.0.4", true })
	wantStatus(t, "the previous client, at a process started after the renewal", w.client(previous, hostPort("127.0.0.4", port)), http.StatusOK)

	wantStatus(t, "the previous client after keepPrevious", oldClient, http.StatusForbidden)
	wantStatus(t, "the previous client after keepPrevious, at the second process", w.client(previous, hostPort("127.0.0.4", port)), http.StatusForbidden)
}

// wantPolicyPins checks that the policy's status lists pem as its one
// PEM pin and retiring (when set) as its one retiring pin, with an expiry
// in the future.
func (w *world) wantPolicyPins(t *testing.T, ns, name, pem, retiring string) error {
	p := &v1alpha1.ClientCertPolicy{}
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: name}, p); err != nil {
		return err
	}
	if !slices.Equal(pinTexts(p.Status.PEMPins), []string{pem}) {
		return fmt.Errorf("pemPins %v, want %s", p.Status.PEMPins, pem)
	}
	if retiring == "" {
		return nil
	}
	if len(p.Status.RetiringPins) != 1 || p.Status.RetiringPins[0].Pin != retiring || p.Status.RetiringPins[0].Source != "spec.pinsFrom[0]" {
		return fmt.Errorf("retiringPins %v, want %s from spec.pinsFrom[0]", p.Status.RetiringPins, retiring)
	}
	if exp := p.Status.RetiringPins[0].Expires.Time; !exp.After(time.Now()) || exp.After(time.Now().Add(8*time.Second)) {
		return fmt.Errorf("retiring pin expires %s, want within the next 8s", exp)
	}
	return nil
}

func pinTexts(pins []v1alpha1.SourcePin) []string {
	var out []string
	for _, p := range pins {
		out = append(out, p.Pin)
	}
	return out
}

// retiringPasses is the main data plane's count of requests to ns/route
// that passed on a retiring pin.
func (w *world) retiringPasses(t *testing.T, ns, route string) float64 {
	t.Helper()
	families, err := w.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "certgate_clientcert_retiring_pin_passes_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsMatch(m.GetLabel(), map[string]string{"namespace": ns, "route": route}) {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}
