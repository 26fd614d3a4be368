package e2e_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/internal/testpki"
)

// testRenewedPEMKeepsThePreviousPin pins a route to tls.crt of a Secret
// with keepPrevious 8s and renews the certificate with a new key, as
// cert-manager does. Within keepPrevious the previous client still passes
// (counted as a retiring pin pass) and status lists the retiring pin with
// its expiry; after keepPrevious the previous client gets 403.
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

	wantStatus(t, "the previous client after keepPrevious", oldClient, http.StatusForbidden)
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

// testRetiringPinSurvivesALeaderChange renews a pinned Secret with two
// replicas, then stops the leader. The new leader, whose memory of the
// previous pin is the status it read, keeps the retiring pin with the
// same expiry when it next writes status (a spec change forces the write),
// and its data plane accepts the previous client until that expiry and
// refuses it after. A third replica started after the renewal, which
// never saw the previous certificate, accepts it from the status it read,
// and refuses it after the same expiry.
func (w *world) testRetiringPinSurvivesALeaderChange(t *testing.T) {
	const (
		ns, class, lease = "renewal-leader", "certgate-renewal-leader", "certgate-renewal-leader"
		controller       = "certgate.dev/renewal-leader-test"
		port             = 18453
	)
	w.namespace(t, ns)
	w.gatewayClass(t, class, controller)
	a := w.replica(t, "renewal-a", "127.0.0.8", controller, ns, lease)
	eventually(t, "renewal-a leads", func() error { return leading(a) })
	b := w.replica(t, "renewal-b", "127.0.0.9", controller, ns, lease)
	w.app(t, ns, class, port, ns)
	previous := w.ca.Issue(t, testpki.Options{CommonName: "partner"})
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "partner-client"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: previous.CertPEM, corev1.TLSPrivateKeyKey: previous.KeyPEM},
	}
	pol := policy(ns, "partner", "api", v1alpha1.ClientCertPolicySpec{
		PinsFrom: []v1alpha1.PinSource{{Kind: v1alpha1.KindSecret, Name: "partner-client", Key: corev1.TLSCertKey,
			KeepPrevious: &metav1.Duration{Duration: 20 * time.Second}}},
	})
	w.create(t, secret, pol)
	atB := w.client(previous, hostPort(b.address, port))
	wantStatus(t, "the previous client at renewal-b", atB, http.StatusOK)
	eventually(t, "status records the PEM pin", func() error { return w.wantPolicyPins(t, ns, "partner", pinLine(previous), "") })

	renewed := w.ca.Issue(t, testpki.Options{CommonName: "partner"})
	w.replaceCertificate(t, secret, renewed)
	var expires time.Time
	eventually(t, "the leader lists the retiring pin", func() error {
		if err := w.wantPolicyPins(t, ns, "partner", pinLine(renewed), pinLine(previous)); err != nil {
			return err
		}
		expires = w.retiringExpiry(t, ns, "partner")
		return nil
	})

	c := w.replica(t, "renewal-c", "127.0.0.10", controller, ns, lease)
	atC := w.client(previous, hostPort(c.address, port))
	wantStatus(t, "the previous client at renewal-c, started after the renewal", atC, http.StatusOK)

	a.stop()
	eventually(t, "renewal-b or renewal-c leads after renewal-a stops", func() error {
		if leading(b) == nil || leading(c) == nil {
			return nil
		}
		return errors.New("no replica leads")
	})
	eventually(t, "the spec change is written", func() error {
		cur := &v1alpha1.ClientCertPolicy{}
		if err := w.c.Get(ctx(t), client.ObjectKeyFromObject(pol), cur); err != nil {
			return err
		}
		cur.Spec.PinsFrom[0].KeepPrevious.Duration = 30 * time.Second
		return w.c.Update(ctx(t), cur)
	})
	eventually(t, "the new leader writes status keeping the retiring pin", func() error {
		c, err := w.policyCondition(t, ns, "partner", "Accepted", metav1.ConditionTrue, "Accepted")
		if err != nil || c.ObservedGeneration != 2 {
			return fmt.Errorf("accepted at generation %d (%v), want 2", c.ObservedGeneration, err)
		}
		if got := w.retiringExpiry(t, ns, "partner"); !got.Equal(expires) {
			return fmt.Errorf("retiring pin expires %s, want %s as before the leader change", got, expires)
		}
		return nil
	})
	for name, cl := range map[string]*http.Client{b.name: atB, c.name: atC} {
		if code, err := status(cl); code != http.StatusOK || time.Now().After(expires) {
			t.Fatalf("the previous client at %s before %s: %d (%v), want 200", name, expires, code, err)
		}
	}
	wantStatus(t, "the previous client at renewal-b after the expiry", atB, http.StatusForbidden)
	wantStatus(t, "the previous client at renewal-c after the expiry", atC, http.StatusForbidden)
	if time.Now().Before(expires) {
		t.Errorf("the previous client was refused before its expiry %s", expires)
	}
}

// retiringExpiry is the expiry of the policy's first retiring pin.
func (w *world) retiringExpiry(t *testing.T, ns, name string) time.Time {
	t.Helper()
	p := &v1alpha1.ClientCertPolicy{}
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: name}, p); err != nil || len(p.Status.RetiringPins) == 0 {
		t.Fatalf("no retiring pin on %s/%s (%v)", ns, name, err)
	}
	return p.Status.RetiringPins[0].Expires.Time
}
