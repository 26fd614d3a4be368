package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/internal/testpki"
)

// testOlderInvalidAuditPolicyDoesNotOpenAPinnedRoute: an Audit policy
// whose pin list is missing holds the route, and requests pass without a
// certificate, as its status says. An Enforce policy created after it
// takes the route over: without a certificate the answer is 403, and the
// Audit policy is Conflicted by "Enforce wins over Audit".
func (w *world) testOlderInvalidAuditPolicyDoesNotOpenAPinnedRoute(t *testing.T) {
	const ns, addr = "audit-conflict", "127.0.0.1:18449"
	w.app(t, ns, className, 18449, ns)
	audit := policy(ns, "broken-audit", "api", v1alpha1.ClientCertPolicySpec{
		Mode:     v1alpha1.ModeAudit,
		PinsFrom: []v1alpha1.PinSource{{Kind: v1alpha1.KindConfigMap, Name: "no-such-pins", Key: "pins"}},
	})
	w.create(t, audit)
	anonymous := w.client(nil, addr)
	wantStatus(t, "a client without a certificate, under the invalid Audit policy alone", anonymous, http.StatusOK)
	eventually(t, "the Audit policy's status says its requests pass", func() error {
		c, err := w.policyCondition(t, ns, "broken-audit", "Accepted", metav1.ConditionFalse, "Invalid")
		if err == nil && !strings.Contains(c.Message, "requests to the targeted rules pass") {
			return fmt.Errorf("message %q does not say requests pass", c.Message)
		}
		return err
	})
	// creationTimestamp has a resolution of one second: make the Audit
	// policy strictly older, so age alone would let it win.
	time.Sleep(time.Until(audit.CreationTimestamp.Add(1100 * time.Millisecond)))
	w.create(t, policy(ns, "enforce", "api", v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{{SHA256: sha256Pin(w.gatewayCert)}}}))

	wantStatus(t, "a client without a certificate", anonymous, http.StatusForbidden)
	wantStatus(t, "the client the Enforce policy pins", w.client(w.gatewayCert, addr), http.StatusOK)
	wantStatus(t, "another client", w.client(w.strangerCert, addr), http.StatusForbidden)
	eventually(t, "the older Audit policy Conflicted by mode", func() error {
		c, err := w.policyCondition(t, ns, "broken-audit", "Accepted", metav1.ConditionFalse, "Conflicted")
		if err == nil && !strings.Contains(c.Message, "held by ClientCertPolicy audit-conflict/enforce (Enforce wins over Audit)") {
			return fmt.Errorf("message %q does not name the Enforce policy and the rule that decided", c.Message)
		}
		return err
	})
}

// canary marks a Secret's content; it must never leave the Secret.
const canary = "S3CR3T-CANARY-e2e"

// testSecretContentNeverInStatusEventsOrLogs points a policy's pinsFrom
// and trust at a Secret that holds neither a pin list nor a CA bundle. The
// route fails closed, status names the Secret, key and line, and neither
// the policy, the namespace's Events nor the controller's log contain
// the Secret's content.
func (w *world) testSecretContentNeverInStatusEventsOrLogs(t *testing.T) {
	const ns, addr = "secret-canary", "127.0.0.1:18450"
	w.app(t, ns, className, 18450, ns)
	w.create(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "not-pins"},
		StringData: map[string]string{
			"pins":   canary + "-first-line\nsha256:" + canary + "\n",
			"ca.crt": "-----BEGIN " + canary + "-----\nAAAA\n-----END " + canary + "-----\n",
		},
	}, policy(ns, "reads-a-secret", "api", v1alpha1.ClientCertPolicySpec{
		PinsFrom: []v1alpha1.PinSource{{Kind: v1alpha1.KindSecret, Name: "not-pins", Key: "pins"}},
		Trust:    &v1alpha1.Trust{CACertificateRefs: []v1alpha1.CACertificateRef{{Kind: v1alpha1.KindSecret, Name: "not-pins"}}},
	}))

	wantStatus(t, "the pinned client under a policy that cannot be used", w.client(w.gatewayCert, addr), http.StatusForbidden)
	eventually(t, "ResolvedRefs=False naming the Secret, the key and the line", func() error {
		c, err := w.policyCondition(t, ns, "reads-a-secret", "ResolvedRefs", metav1.ConditionFalse, "InvalidPinsRef")
		if err == nil && !strings.Contains(c.Message, `Secret secret-canary/not-pins key "pins": line 1`) {
			return fmt.Errorf("message %q does not name the Secret, key and line", c.Message)
		}
		return err
	})
	eventually(t, "the data plane logs the unusable requirement", func() error {
		if !strings.Contains(w.logs.String(), "secret-canary/reads-a-secret") {
			return fmt.Errorf("no log line names the policy")
		}
		return nil
	})
	p := &v1alpha1.ClientCertPolicy{}
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: "reads-a-secret"}, p); err != nil {
		t.Fatal(err)
	}
	events := &corev1.EventList{}
	if err := w.c.List(ctx(t), events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for what, v := range map[string]any{"the policy's status": p.Status, "the namespace's Events": events} {
		text, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(text), canary) {
			t.Errorf("%s show the Secret's content: %s", what, text)
		}
	}
	if strings.Contains(w.logs.String(), canary) {
		t.Errorf("the log shows the Secret's content:\n%s", w.logs.String())
	}
}

// testPEMInASecretPinsByPublicKey pins a route to tls.crt of a
// kubernetes.io/tls Secret with pinType SPKI. The client passes, another
// gets 403; the Secret renewed with the same key still passes; renewed
// with a new key, the old certificate gets 403 at once (keepPrevious 0s)
// and the new one passes.
func (w *world) testPEMInASecretPinsByPublicKey(t *testing.T) {
	const ns, addr = "pem-secret", "127.0.0.1:18451"
	w.app(t, ns, className, 18451, ns)
	first := w.ca.Issue(t, testpki.Options{CommonName: "partner"})
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "partner-client"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: first.CertPEM, corev1.TLSPrivateKeyKey: first.KeyPEM},
	}
	w.create(t, secret, policy(ns, "partner-by-key", "api", v1alpha1.ClientCertPolicySpec{
		PinsFrom: []v1alpha1.PinSource{{Kind: v1alpha1.KindSecret, Name: "partner-client", Key: corev1.TLSCertKey, PinType: v1alpha1.PEMPinSPKI,
			KeepPrevious: &metav1.Duration{}}},
	}))
	wantStatus(t, "the client whose certificate is in the Secret", w.client(first, addr), http.StatusOK)
	wantStatus(t, "another client", w.client(w.strangerCert, addr), http.StatusForbidden)

	sameKey := w.ca.Issue(t, testpki.Options{CommonName: "partner", PrivateKey: first.Key})
	w.replaceCertificate(t, secret, sameKey)
	wantStatus(t, "the certificate renewed with the same key", w.client(sameKey, addr), http.StatusOK)

	newKey := w.ca.Issue(t, testpki.Options{CommonName: "partner"})
	w.replaceCertificate(t, secret, newKey)
	wantStatus(t, "the certificate renewed with a new key", w.client(newKey, addr), http.StatusOK)
	wantStatus(t, "the certificate of the old key", w.client(first, addr), http.StatusForbidden)
	eventually(t, "pinCount 1", func() error {
		p := &v1alpha1.ClientCertPolicy{}
		if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: "partner-by-key"}, p); err != nil {
			return err
		}
		if p.Status.PinCount != 1 {
			return fmt.Errorf("pinCount %d", p.Status.PinCount)
		}
		return nil
	})
}

// replaceCertificate writes cert into the tls.crt and tls.key of secret.
func (w *world) replaceCertificate(t *testing.T, secret *corev1.Secret, cert *testpki.Cert) {
	t.Helper()
	secret.Data = map[string][]byte{corev1.TLSCertKey: cert.CertPEM, corev1.TLSPrivateKeyKey: cert.KeyPEM}
	if err := w.c.Update(ctx(t), secret); err != nil {
		t.Fatal(err)
	}
}
