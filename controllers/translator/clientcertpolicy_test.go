package translator

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

func policy(spec v1alpha1.ClientCertPolicySpec) *v1alpha1.ClientCertPolicy {
	if spec.TargetRefs == nil {
		spec.TargetRefs = append(spec.TargetRefs, routeTarget("r", ""))
	}
	return &v1alpha1.ClientCertPolicy{ObjectMeta: objectMeta("p", goldenNow), Spec: spec}
}

// windowsThumbprint writes a SHA-1 digest as the Windows certificate
// dialog shows it: U+200E first, upper-case pairs separated by spaces.
func windowsThumbprint(digest []byte) string {
	h := strings.ToUpper(hex.EncodeToString(digest))
	var pairs []string
	for i := 0; i < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	return "\u200e" + strings.Join(pairs, " ")
}

func TestResolveClientCertPolicyAcceptsWindowsThumbprint(t *testing.T) {
	leaf := testpki.NewCA(t, "ca").Issue(t, testpki.Options{CommonName: "api-gateway"})
	fp := pin.Of(leaf.Leaf)
	tr := newPolicyTranslator(t)
	c := tr.resolveClientCertPolicy(policy(v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{{SHA1: windowsThumbprint(fp.SHA1[:])}}}))
	if len(c.invalid) > 0 {
		t.Fatalf("invalid: %v", c.invalid)
	}
	req := clientcert.Compile(c.requirement)
	if req.Problem() != "" {
		t.Fatalf("data plane refuses the requirement: %s", req.Problem())
	}
	if got, want := c.requirement.Pins[0].String(), "sha1:"+hex.EncodeToString(fp.SHA1[:]); got != want || c.pinCount != 1 {
		t.Errorf("pins = %s (count %d), want %s (count 1)", got, c.pinCount, want)
	}
}

func TestPinsFromBadLineFailsClosedNamingObjectKeyAndLine(t *testing.T) {
	tr := newPolicyTranslator(t, configMap("pins", map[string]string{"list": "# ok\nsha1:a94a8fe5ccb19ba61c4c0873d391e987982fbbd3\nsha1:nope\n"}))
	c := tr.resolveClientCertPolicy(policy(v1alpha1.ClientCertPolicySpec{
		PinsFrom: []v1alpha1.PinSource{{Kind: v1alpha1.KindConfigMap, Name: "pins", Key: "list"}},
	}))
	if c.refs == nil || c.refs.reason != v1alpha1.ReasonInvalidPinsRef {
		t.Fatalf("ResolvedRefs problem = %+v, want reason %s", c.refs, v1alpha1.ReasonInvalidPinsRef)
	}
	for _, want := range []string{"spec.pinsFrom[0]", "ConfigMap ns/pins", `key "list"`, "line 3"} {
		if !strings.Contains(c.requirement.Invalid, want) {
			t.Errorf("Invalid = %q, want it to name %q", c.requirement.Invalid, want)
		}
	}
	if len(c.requirement.Pins) != 0 || c.pinCount != 0 {
		t.Error("an invalid requirement must carry no pins: none are in force")
	}
	if clientcert.Compile(c.requirement).Problem() == "" {
		t.Error("the data plane would not fail closed")
	}
}

func TestConfiguredPinsThatYieldNoneFailClosed(t *testing.T) {
	ca := testpki.NewCA(t, "partner")
	tr := newPolicyTranslator(t,
		configMap("pins", map[string]string{"list": "# nothing yet\n"}),
		configMap("ca", map[string]string{"ca.crt": string(ca.PEM)}))
	c := tr.resolveClientCertPolicy(policy(v1alpha1.ClientCertPolicySpec{
		PinsFrom: []v1alpha1.PinSource{{Kind: v1alpha1.KindConfigMap, Name: "pins", Key: "list"}},
		Trust:    &v1alpha1.Trust{CACertificateRefs: []v1alpha1.CACertificateRef{{Kind: v1alpha1.KindConfigMap, Name: "ca"}}},
	}))
	if c.requirement.Invalid == "" || !strings.Contains(c.requirement.Invalid, "hold no pin") {
		t.Fatalf("Invalid = %q: an empty pin list must not turn the policy into trust-only", c.requirement.Invalid)
	}
	if c.refs != nil {
		t.Errorf("the reference resolved; ResolvedRefs problem = %+v", c.refs)
	}
}

func TestMissingTrustCAFailsClosedAndKeepsAuditMode(t *testing.T) {
	tr := newPolicyTranslator(t)
	c := tr.resolveClientCertPolicy(policy(v1alpha1.ClientCertPolicySpec{
		Mode:  v1alpha1.ModeAudit,
		Trust: &v1alpha1.Trust{CACertificateRefs: []v1alpha1.CACertificateRef{{Kind: v1alpha1.KindSecret, Name: "gone"}}},
	}))
	if !strings.Contains(c.requirement.Invalid, "spec.trust.caCertificateRefs[0]: Secret ns/gone not found") {
		t.Errorf("Invalid = %q", c.requirement.Invalid)
	}
	if c.refs == nil || c.refs.reason != "InvalidCACertificateRef" {
		t.Errorf("ResolvedRefs problem = %+v", c.refs)
	}
	if c.requirement.Mode != snapshot.ModeAudit {
		t.Errorf("Mode = %q: an invalid Audit policy must stay a dry run", c.requirement.Mode)
	}
}

func TestInlinePinErrorNamesTheField(t *testing.T) {
	tr := newPolicyTranslator(t)
	c := tr.resolveClientCertPolicy(policy(v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{
		{SHA1: "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"}, {SHA256: "12:34"},
	}}))
	if !strings.Contains(c.requirement.Invalid, "spec.pins[1].sha256") {
		t.Errorf("Invalid = %q, want it to name spec.pins[1].sha256", c.requirement.Invalid)
	}
}

func TestDefaultsAreEnforceAndNoForwarding(t *testing.T) {
	tr := newPolicyTranslator(t)
	c := tr.resolveClientCertPolicy(policy(v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{{SHA1: "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"}}}))
	if c.requirement.Mode != snapshot.ModeEnforce || c.requirement.ForwardClientCert != snapshot.ForwardNone || c.requirement.Policy != "ns/p" {
		t.Errorf("requirement = %+v", c.requirement)
	}
}

func TestGoverningPolicyIsTheMostSpecific(t *testing.T) {
	at := func(name string) *ccpAttachment {
		return &ccpAttachment{policy: &v1alpha1.ClientCertPolicy{ObjectMeta: objectMeta(name, goldenNow)}}
	}
	gwP, listenerP, routeP, ruleP := at("gateway"), at("listener"), at("route"), at("rule")
	holders := map[ccpKey]*ccpAttachment{
		{kind: "Gateway", name: nameOf("ns", "gw")}:                    gwP,
		{kind: "Gateway", name: nameOf("ns", "gw"), section: "https"}:  listenerP,
		{kind: "HTTPRoute", name: nameOf("ns", "r")}:                   routeP,
		{kind: "HTTPRoute", name: nameOf("ns", "r"), section: "admin"}: ruleP,
	}
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gw"}}
	https := &listenerState{gw: gw, spec: &gatewayv1.Listener{Name: "https"}}
	other := &listenerState{gw: gw, spec: &gatewayv1.Listener{Name: "other"}}
	r := &snapshot.Route{Namespace: "ns", Name: "r"}
	shop := &snapshot.Route{Namespace: "ns", Name: "shop"}
	for _, tc := range []struct {
		name string
		l    *listenerState
		r    *snapshot.Route
		rule string
		want *ccpAttachment
	}{
		{"rule beats route", https, r, "admin", ruleP},
		{"route beats listener", https, r, "read", routeP},
		{"unnamed rule takes the route's", https, r, "", routeP},
		{"listener beats gateway", https, shop, "", listenerP},
		{"gateway when nothing else", other, shop, "", gwP},
	} {
		if got := governingPolicy(holders, tc.l, tc.r, &snapshot.Rule{Name: tc.rule}); got != tc.want {
			t.Errorf("%s: governed by %s, want %s", tc.name, got.name(), tc.want.name())
		}
	}
}

func TestOlderPolicyWinsThenName(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(name string, created time.Time) *v1alpha1.ClientCertPolicy {
		return &v1alpha1.ClientCertPolicy{ObjectMeta: objectMeta(name, created)}
	}
	got := oldestFirst([]*v1alpha1.ClientCertPolicy{mk("a-newer", t0.Add(time.Hour)), mk("b", t0), mk("a", t0)})
	if got[0].Name != "a" || got[1].Name != "b" || got[2].Name != "a-newer" {
		t.Errorf("order = %s, %s, %s; want a, b, a-newer", got[0].Name, got[1].Name, got[2].Name)
	}
}

func TestConflictingPolicyIsConflictedForItsAncestor(t *testing.T) {
	gwTarget := routeTarget("gw", "")
	gwTarget.Kind = "Gateway"
	spec := v1alpha1.ClientCertPolicySpec{
		TargetRefs: []gatewayv1.LocalPolicyTargetReferenceWithSectionName{gwTarget},
		Pins:       []v1alpha1.Pin{{SHA1: "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"}},
	}
	older, newer := policy(spec), policy(spec)
	newer.Name, newer.CreationTimestamp = "newer", metav1.NewTime(goldenNow.Add(time.Minute))
	gw := &gatewayv1.Gateway{ObjectMeta: objectMeta("gw", goldenNow)}
	tr := newPolicyTranslator(t, older, newer, gw)
	tr.gateways = []*gatewayv1.Gateway{gw} // as the gateway stage would accept it
	tr.translateClientCertPolicies()
	for name, want := range map[string]string{"p": "Accepted", "newer": "Conflicted"} {
		st := tr.policyStatus[nameOf("ns", name)]
		if st == nil || len(st.Ancestors) != 1 || string(st.Ancestors[0].AncestorRef.Name) != "gw" {
			t.Fatalf("status of %s = %+v, want one ancestor, Gateway gw", name, st)
		}
		if c := st.Ancestors[0].Conditions[0]; c.Type != "Accepted" || c.Reason != want {
			t.Errorf("%s: %s %s (%s), want reason %s", name, c.Type, c.Reason, c.Message, want)
		}
	}
}

// TestSecretContentNeverReachesTheTranslation translates the scenario in
// which every Secret certgate reads is unusable and marked with a canary,
// and checks that the marker is nowhere in the snapshot or the statuses,
// while each problem is still reported by field, object and key.
func TestSecretContentNeverReachesTheTranslation(t *testing.T) {
	out := string(translateFile(t, "testdata/secret-content-never-quoted.in.yaml"))
	if strings.Contains(out, "S3CR3T") || strings.Contains(out, "CANARY") {
		t.Fatalf("the translation quotes a Secret:\n%s", out)
	}
	for _, want := range []string{
		`spec.pinsFrom[0]: Secret payments/canary-pins key "pins": line 1 has no algorithm`,
		`key "bad-digest": line 2 has a sha256 pin`,
		`spec.trust.caCertificateRefs[0]: Secret payments/canary-ca key "ca.crt": no PEM CERTIFICATE block`,
		`Secret payments/canary-serving does not hold a usable certificate and key: tls.crt: no PEM CERTIFICATE block`,
		`Secret payments/canary-backend-client: tls.key holds no parsable PEM private key`,
		`Secret payments/canary-option-client: tls.key holds no parsable PEM private key`,
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("the translation does not report %q", want)
		}
	}
}
