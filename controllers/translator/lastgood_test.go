package translator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/internal/testpki"
)

// certWorld is a Gateway with two HTTPS listeners: "a" serves Secret ns/a,
// "b" Secret ns/b, and "x" Secret shared/x through a ReferenceGrant. Each
// test changes the objects between translations, handing each translation
// the last good certificates of the one before, as the pipeline does.
type certWorld struct {
	t       *testing.T
	gw      *gatewayv1.Gateway
	secrets map[string]*corev1.Secret
	grant   *gatewayv1.ReferenceGrant
	prev    LastGoodCertificates
}

func newCertWorld(t *testing.T, a, b, x *testpki.Cert) *certWorld {
	https := func(name string, port gatewayv1.PortNumber, ref gatewayv1.SecretObjectReference) gatewayv1.Listener {
		return gatewayv1.Listener{Name: gatewayv1.SectionName(name), Port: port, Protocol: gatewayv1.HTTPSProtocolType,
			TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{ref}}}
	}
	shared := gatewayv1.Namespace("shared")
	w := &certWorld{t: t, secrets: map[string]*corev1.Secret{}}
	gwMeta := objectMeta("gw", goldenNow)
	gwMeta.UID = "gw-1"
	w.gw = &gatewayv1.Gateway{ObjectMeta: gwMeta, Spec: gatewayv1.GatewaySpec{GatewayClassName: "c", Listeners: []gatewayv1.Listener{
		https("a", 443, gatewayv1.SecretObjectReference{Name: "a"}),
		https("b", 8443, gatewayv1.SecretObjectReference{Name: "b"}),
		https("x", 9443, gatewayv1.SecretObjectReference{Name: "x", Namespace: &shared}),
	}}}
	w.put("ns/a", a.CertPEM, a.KeyPEM)
	w.put("ns/b", b.CertPEM, b.KeyPEM)
	w.put("shared/x", x.CertPEM, x.KeyPEM)
	w.grant = &gatewayv1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shared", Name: "gateways"},
		Spec: gatewayv1.ReferenceGrantSpec{
			From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "Gateway", Namespace: "ns"}},
			To:   []gatewayv1.ReferenceGrantTo{{Kind: "Secret"}},
		},
	}
	return w
}

// put creates or edits the Secret nn (namespace/name) as a TLS Secret. An
// edit keeps the object's UID; a Secret created anew gets a new one.
func (w *certWorld) put(nn string, cert, key []byte) *corev1.Secret {
	ns, name, _ := strings.Cut(nn, "/")
	s, ok := w.secrets[nn]
	if !ok {
		s = tlsSecret(name, nil, nil)
		s.Namespace, s.UID = ns, types.UID(nn+"-"+string(rune('a'+len(w.secrets))))
		w.secrets[nn] = s
	}
	s.Type, s.Data = corev1.SecretTypeTLS, map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key}
	return s
}

// translate translates the world as it is now, given the last good
// certificates of the previous translation.
func (w *certWorld) translate() *Result {
	w.t.Helper()
	res := &resources.Resources{}
	objs := []client.Object{
		&gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: gatewayv1.GatewayClassSpec{ControllerName: ControllerName}},
		w.gw,
	}
	if w.grant != nil {
		objs = append(objs, w.grant)
	}
	for _, s := range w.secrets {
		objs = append(objs, s)
	}
	for _, o := range objs {
		if err := res.Add(o); err != nil {
			w.t.Fatal(err)
		}
	}
	res.Sort()
	out := Translate(res, Options{Now: goldenNow, LastGoodCertificates: w.prev})
	w.prev = out.LastGoodCertificates
	return out
}

// served is the certificate PEM the snapshot serves on listener name,
// nil when the listener is not in the snapshot.
func served(out *Result, name string) []byte {
	for _, l := range out.Snapshot.Listeners {
		if l.Name == "ns/gw/"+name && l.TLS != nil && len(l.TLS.Certificates) == 1 {
			return l.TLS.Certificates[0].CertPEM
		}
	}
	return nil
}

// listenerCondition is condition typ of listener name.
func listenerCondition(t *testing.T, out *Result, name, typ string) metav1.Condition {
	t.Helper()
	for _, ls := range out.Status.Gateways[0].Status.Listeners {
		if string(ls.Name) == name {
			if c := meta.FindStatusCondition(ls.Conditions, typ); c != nil {
				return *c
			}
		}
	}
	t.Fatalf("listener %s has no %s condition", name, typ)
	return metav1.Condition{}
}

// wantServing checks that listener name is programmed and serves cert.
func wantServing(t *testing.T, out *Result, name string, cert *testpki.Cert) {
	t.Helper()
	if got := served(out, name); !bytes.Equal(got, cert.CertPEM) {
		t.Errorf("listener %s serves %q, want %s", name, firstLine(got), cert.Leaf.Subject.CommonName)
	}
	if c := listenerCondition(t, out, name, "Programmed"); c.Status != metav1.ConditionTrue {
		t.Errorf("listener %s Programmed = %s %s %q, want True", name, c.Status, c.Reason, c.Message)
	}
}

// wantResolved checks listener name's ResolvedRefs.
func wantResolved(t *testing.T, out *Result, name string) {
	t.Helper()
	if c := listenerCondition(t, out, name, "ResolvedRefs"); c.Status != metav1.ConditionTrue {
		t.Errorf("listener %s ResolvedRefs = %s %s %q, want True", name, c.Status, c.Reason, c.Message)
	}
}

// wantNotServed checks that listener name is out of the snapshot, not
// programmed, with ResolvedRefs False naming problem and no last good
// certificate.
func wantNotServed(t *testing.T, out *Result, name, problem string) {
	t.Helper()
	if got := served(out, name); got != nil {
		t.Errorf("listener %s still serves %q", name, firstLine(got))
	}
	if c := listenerCondition(t, out, name, "Programmed"); c.Status != metav1.ConditionFalse {
		t.Errorf("listener %s Programmed = %s %q, want False", name, c.Status, c.Message)
	}
	c := listenerCondition(t, out, name, "ResolvedRefs")
	if c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, problem) || strings.Contains(c.Message, "last good") {
		t.Errorf("listener %s ResolvedRefs = %s %s %q, want False naming %q without a last good certificate", name, c.Status, c.Reason, c.Message, problem)
	}
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return string(line)
}

func issue(t *testing.T, ca *testpki.CA, name string) *testpki.Cert {
	return ca.Issue(t, testpki.Options{CommonName: name, DNSNames: []string{name}})
}

// Each way a Secret can be edited into something unusable keeps the
// listener serving the Secret's last good certificate, programmed, with
// ResolvedRefs False saying why and that the old certificate is served,
// over as many translations as it stays unusable; the other listeners are
// untouched, and a valid certificate put in later is served at once.
func TestUnusableSecretEditKeepsTheLastGoodCertificate(t *testing.T) {
	ca := testpki.NewCA(t, "translator CA")
	a, b, x, other := issue(t, ca, "a.test"), issue(t, ca, "b.test"), issue(t, ca, "x.test"), issue(t, ca, "other.test")
	edits := map[string]struct {
		edit    func(s *corev1.Secret)
		problem string
	}{
		"truncated PEM":       {func(s *corev1.Secret) { s.Data[corev1.TLSCertKey] = a.CertPEM[:40] }, "tls.crt"},
		"key of another cert": {func(s *corev1.Secret) { s.Data[corev1.TLSPrivateKeyKey] = other.KeyPEM }, "does not belong"},
		"no tls.key":          {func(s *corev1.Secret) { delete(s.Data, corev1.TLSPrivateKeyKey) }, "tls.key holds no"},
		"no data at all":      {func(s *corev1.Secret) { s.Data = nil }, "tls.crt"},
		"wrong type":          {func(s *corev1.Secret) { s.Type = corev1.SecretTypeOpaque }, `has type "Opaque"`},
	}
	for name, e := range edits {
		t.Run(name, func(t *testing.T) {
			w := newCertWorld(t, a, b, x)
			wantServing(t, w.translate(), "a", a)
			e.edit(w.secrets["ns/a"])
			for range 2 {
				out := w.translate()
				wantServing(t, out, "a", a)
				c := listenerCondition(t, out, "a", "ResolvedRefs")
				if c.Status != metav1.ConditionFalse || c.Reason != "InvalidCertificateRef" ||
					!strings.Contains(c.Message, "Secret ns/a") || !strings.Contains(c.Message, e.problem) ||
					!strings.Contains(c.Message, "keeps serving the last good certificate") {
					t.Errorf("ResolvedRefs = %s %s %q, want False InvalidCertificateRef naming ns/a, %q and the last good certificate", c.Status, c.Reason, c.Message, e.problem)
				}
				wantServing(t, out, "b", b)
				wantResolved(t, out, "b")
			}
			renewed := issue(t, ca, "a.test")
			w.put("ns/a", renewed.CertPEM, renewed.KeyPEM)
			out := w.translate()
			wantServing(t, out, "a", renewed)
			wantResolved(t, out, "a")
		})
	}
}

// The last good certificate is dropped, and the listener stops serving,
// whenever the change is to the reference or the Secret's existence rather
// than its content: those are deliberate, and may be a revocation.
func TestLastGoodCertificateIsNotKeptAcrossDeliberateChanges(t *testing.T) {
	ca := testpki.NewCA(t, "translator CA")
	a, b, x := issue(t, ca, "a.test"), issue(t, ca, "b.test"), issue(t, ca, "x.test")
	garbage := []byte("not a certificate")
	changes := map[string]struct {
		listener, problem string
		change            func(w *certWorld)
	}{
		"Secret deleted": {"a", "ns/a does not exist", func(w *certWorld) { delete(w.secrets, "ns/a") }},
		"Secret deleted, then created unusable": {"a", "ns/a does not", func(w *certWorld) {
			delete(w.secrets, "ns/a")
			w.put("ns/a", garbage, garbage)
		}},
		"reference moved to another, unusable Secret": {"a", "ns/c does not", func(w *certWorld) {
			w.put("ns/c", garbage, garbage)
			w.gw.Spec.Listeners[0].TLS.CertificateRefs[0].Name = "c"
		}},
		"ReferenceGrant removed": {"x", "no ReferenceGrant allows it", func(w *certWorld) { w.grant = nil }},
		"Gateway deleted and created again, Secret unusable": {"a", "ns/a does not", func(w *certWorld) {
			w.gw = w.gw.DeepCopy()
			w.gw.UID = "gw-2"
			w.put("ns/a", garbage, garbage)
		}},
		"listener renamed, Secret unusable": {"renamed", "ns/a does not", func(w *certWorld) {
			w.gw.Spec.Listeners[0].Name = "renamed"
			w.put("ns/a", garbage, garbage)
		}},
	}
	for name, c := range changes {
		t.Run(name, func(t *testing.T) {
			w := newCertWorld(t, a, b, x)
			w.translate()
			c.change(w)
			wantNotServed(t, w.translate(), c.listener, c.problem)
			// Undoing a deliberate change does not bring the dropped
			// certificate back while the Secret is unusable.
			w.grant = newCertWorld(t, a, b, x).grant
			w.put("ns/a", garbage, garbage)
			w.put("shared/x", garbage, garbage)
			out := w.translate()
			wantNotServed(t, out, c.listener, "does not hold a usable certificate")
			wantServing(t, out, "b", b)
		})
	}
}

// A listener added while a Secret is unusable does not get the
// certificate another listener kept from it, and a translation without
// memory (a controller that just started) serves nothing from an unusable
// Secret.
func TestLastGoodCertificateBelongsToItsListener(t *testing.T) {
	ca := testpki.NewCA(t, "translator CA")
	a, b, x := issue(t, ca, "a.test"), issue(t, ca, "b.test"), issue(t, ca, "x.test")
	w := newCertWorld(t, a, b, x)
	w.translate()
	w.put("ns/a", []byte("garbage"), a.KeyPEM)
	second := w.gw.Spec.Listeners[0].DeepCopy()
	second.Name, second.Port = "a2", 10443
	w.gw.Spec.Listeners = append(w.gw.Spec.Listeners, *second)
	out := w.translate()
	wantServing(t, out, "a", a)
	wantNotServed(t, out, "a2", "ns/a does not hold a usable certificate")

	w.prev = nil
	wantNotServed(t, w.translate(), "a", "ns/a does not hold a usable certificate")
}

// Last good certificates never appear in the result's JSON form (the
// golden files, certgate explain), and their keys are redacted in every
// text form, so logging them cannot leak a key.
func TestLastGoodCertificatesStayOutOfTextForms(t *testing.T) {
	ca := testpki.NewCA(t, "translator CA")
	a, b, x := issue(t, ca, "a.test"), issue(t, ca, "b.test"), issue(t, ca, "x.test")
	out := newCertWorld(t, a, b, x).translate()
	if len(out.LastGoodCertificates) != 3 {
		t.Fatalf("%d last good certificates, want one per listener", len(out.LastGoodCertificates))
	}
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("ns/a-")) || bytes.Contains(raw, []byte("SecretUID")) {
		t.Errorf("the JSON form holds the last good certificates: %s", raw)
	}
	if text := fmt.Sprintf("%+v %#v", out.LastGoodCertificates, out.LastGoodCertificates); strings.Contains(text, "PRIVATE KEY") {
		t.Error("a kept private key prints in clear")
	}
}
