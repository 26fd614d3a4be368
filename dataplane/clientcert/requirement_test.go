package clientcert

import (
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
)

func TestInvalidRequirementFailsClosed(t *testing.T) {
	w := newPKI(t)
	good := pinsOf(w.gateway)
	// Zero the version field of the DER inside a valid PEM block.
	corrupt := append([]byte{}, w.ca.PEM[:40]...)
	corrupt = append(corrupt, []byte("AAAA")...)
	corrupt = append(corrupt, w.ca.PEM[44:]...)
	for _, tc := range []struct {
		name        string
		req         snapshot.Requirement
		wantProblem string
	}{
		{"source marked invalid", snapshot.Requirement{Invalid: `pinsFrom: ConfigMap "payments/gateway-pins" not found`, Pins: good},
			`ConfigMap "payments/gateway-pins" not found`},
		{"no pins and no CA", snapshot.Requirement{}, "no pins and no CA certificates"},
		{"SANs alone", snapshot.Requirement{SubjectAltNames: []snapshot.SANMatch{{Type: snapshot.SANDNS, Value: gatewayDNS}}}, "no pins and no CA"},
		{"pin of the wrong size", snapshot.Requirement{Pins: []pin.Pin{good[0], {Algorithm: pin.SHA256, Digest: good[1].Digest}}}, "pins[1]"},
		{"pin of an unknown algorithm", snapshot.Requirement{Pins: []pin.Pin{{Algorithm: "md5", Digest: make([]byte, 16)}}}, "pins[0]"},
		{"CA bundle that is not PEM", snapshot.Requirement{Pins: good, CACertificates: []snapshot.CACertificate{{Name: "payments/partner-ca", PEM: []byte("not a certificate")}}},
			"caCertificates[0] (payments/partner-ca): no PEM CERTIFICATE block"},
		{"CA bundle with a corrupt certificate", snapshot.Requirement{CACertificates: append(trustOf(w.ca), snapshot.CACertificate{Name: "payments/bad", PEM: append(append([]byte{}, w.stranger.PEM...), corrupt...)})},
			"caCertificates[1] (payments/bad): PEM block 2"},
		{"CA bundle with only a key", snapshot.Requirement{CACertificates: []snapshot.CACertificate{{Name: "payments/key", PEM: w.gateway.KeyPEM}}}, "no PEM CERTIFICATE block"},
		{"unknown mode", snapshot.Requirement{Pins: good, Mode: "Observe"}, `mode "Observe"`},
		{"unknown forwarding", snapshot.Requirement{Pins: good, ForwardClientCert: "PEM"}, `forwardClientCert "PEM"`},
		{"unknown guard setting", snapshot.Requirement{Pins: good, PathConfusionGuard: "Off"}, `pathConfusionGuard "Off"`},
		{"unknown SAN type", snapshot.Requirement{Pins: good, SubjectAltNames: []snapshot.SANMatch{{Type: "IP", Value: "10.0.0.1"}}}, `subjectAltNames[0]: type "IP"`},
		{"empty SAN value", snapshot.Requirement{Pins: good, SubjectAltNames: []snapshot.SANMatch{{Type: snapshot.SANURI}}}, "subjectAltNames[0]: empty URI value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Policy = "payments/p"
			if tc.req.ForwardClientCert == "" {
				tc.req.ForwardClientCert = snapshot.ForwardXFCC
			}
			r := Compile(&tc.req)
			if got := r.Check(peerOf(w.gateway), time.Now()); got != ReasonPolicyInvalid {
				t.Errorf("Check = %q, want policy_invalid", got)
			}
			if !strings.Contains(r.Problem(), tc.wantProblem) {
				t.Errorf("Problem() = %q, want it to contain %q", r.Problem(), tc.wantProblem)
			}
			if !r.GuardsPathConfusion() {
				t.Error("an invalid requirement turned the path confusion guard off")
			}
			if r.Forward() != snapshot.ForwardNone || r.Policy() != "payments/p" || r.Mode() != snapshot.ModeEnforce {
				t.Errorf("Forward, Policy, Mode = %q, %q, %q; want None, payments/p, Enforce", r.Forward(), r.Policy(), r.Mode())
			}
		})
	}
}

func TestInvalidAuditPolicyStaysAudit(t *testing.T) {
	r := Compile(&snapshot.Requirement{Invalid: "trust: Secret not found", Mode: snapshot.ModeAudit})
	if r.Mode() != snapshot.ModeAudit || r.Check(NewPeer(nil), time.Now()) != ReasonPolicyInvalid {
		t.Errorf("Mode, Check = %q, %q; want Audit, policy_invalid", r.Mode(), r.Check(NewPeer(nil), time.Now()))
	}
}

func TestValidRequirementAccessors(t *testing.T) {
	w := newPKI(t)
	r := Compile(&snapshot.Requirement{Policy: "payments/ok", Pins: pinsOf(w.gateway), CACertificates: trustOf(w.ca), ForwardClientCert: snapshot.ForwardRFC9440})
	if r.Problem() != "" || r.Policy() != "payments/ok" || r.Forward() != snapshot.ForwardRFC9440 || r.Mode() != snapshot.ModeEnforce {
		t.Errorf("Problem, Policy, Forward, Mode = %q, %q, %q, %q", r.Problem(), r.Policy(), r.Forward(), r.Mode())
	}
}

func TestPathConfusionGuardIsOnUnlessDisabled(t *testing.T) {
	w := newPKI(t)
	for setting, want := range map[snapshot.PathConfusionGuard]bool{"": true, snapshot.GuardEnabled: true, snapshot.GuardDisabled: false} {
		r := Compile(&snapshot.Requirement{Policy: "payments/p", Pins: pinsOf(w.gateway), PathConfusionGuard: setting})
		if r.Problem() != "" || r.GuardsPathConfusion() != want {
			t.Errorf("pathConfusionGuard %q: Problem, GuardsPathConfusion = %q, %v; want \"\", %v", setting, r.Problem(), r.GuardsPathConfusion(), want)
		}
	}
	// A disabled guard on a policy that is invalid for another reason is
	// dropped with everything else: the failure must not weaken anything.
	r := Compile(&snapshot.Requirement{Invalid: "pinsFrom: ConfigMap not found", PathConfusionGuard: snapshot.GuardDisabled})
	if !r.GuardsPathConfusion() {
		t.Error("an invalid requirement kept its disabled guard")
	}
}

func TestNilRequirement(t *testing.T) {
	var r *Requirement
	if Compile(nil) != nil {
		t.Error("Compile(nil) is not nil")
	}
	if r.Check(NewPeer(nil), time.Now()) != ReasonPolicyInvalid {
		t.Error("a nil requirement does not fail closed")
	}
	if r.Mode() != snapshot.ModeEnforce || r.Forward() != snapshot.ForwardNone || r.Problem() != "" || r.Policy() != "" || r.GuardsPathConfusion() {
		t.Error("nil requirement accessors")
	}
}

func TestReasonsAreTheMetricLabels(t *testing.T) {
	want := "policy_invalid no_tls missing untrusted expired pin_mismatch san_mismatch path_confusion"
	var got []string
	for _, r := range Reasons() {
		got = append(got, string(r))
	}
	if strings.Join(got, " ") != want {
		t.Errorf("Reasons() = %v, want %s", got, want)
	}
}
