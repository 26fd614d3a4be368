package clientcert

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

func TestCheckReasons(t *testing.T) {
	w := newPKI(t)
	stranger := w.stranger.Issue(t, testpki.Options{CommonName: "stranger", DNSNames: []string{gatewayDNS}})
	sibling := w.ca.Issue(t, testpki.Options{CommonName: "sibling", DNSNames: []string{"other.example.com"}})
	serverOnly := w.ca.Issue(t, testpki.Options{CommonName: "server", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	expired := w.ca.Issue(t, expiredOpts("expired"))
	future := w.ca.Issue(t, testpki.Options{CommonName: "future", NotBefore: time.Now().Add(time.Hour)})
	strangerExpired := w.stranger.Issue(t, expiredOpts("stranger expired"))

	pinned := &snapshot.Requirement{Policy: "payments/pinned", Pins: pinsOf(w.gateway)[:1]}
	trusted := &snapshot.Requirement{Policy: "payments/trusted", CACertificates: trustOf(w.ca)}
	bySAN := &snapshot.Requirement{Policy: "payments/san", CACertificates: trustOf(w.ca),
		SubjectAltNames: []snapshot.SANMatch{{Type: snapshot.SANDNS, Value: gatewayDNS}}}
	invalid := &snapshot.Requirement{Policy: "payments/broken", Invalid: `ConfigMap "gateway-pins" not found`, Pins: pinsOf(w.gateway)}

	for _, tc := range []struct {
		name string
		req  *snapshot.Requirement
		peer *Peer
		want Reason
	}{
		{"pinned certificate passes", pinned, peerOf(w.gateway), ""},
		{"trusted certificate passes", trusted, peerOf(w.gateway), ""},
		{"invalid policy rejects even the pinned certificate", invalid, peerOf(w.gateway), ReasonPolicyInvalid},
		{"plain HTTP", pinned, NewPeer(nil), ReasonNoTLS},
		{"nil peer counts as plain HTTP", pinned, nil, ReasonNoTLS},
		{"no certificate", pinned, NewPeer(&tls.ConnectionState{HandshakeComplete: true}), ReasonMissing},
		{"certificate of another CA", trusted, peerOf(stranger), ReasonUntrusted},
		{"certificate without clientAuth", trusted, peerOf(serverOnly), ReasonUntrusted},
		{"expired certificate of the trusted CA is expired, not untrusted", trusted, peerOf(expired), ReasonExpired},
		{"expired certificate of another CA is untrusted", trusted, peerOf(strangerExpired), ReasonUntrusted},
		{"not yet valid certificate", trusted, peerOf(future), ReasonExpired},
		{"expired pinned-only certificate", &snapshot.Requirement{Pins: pinsOf(expired)}, peerOf(expired), ReasonExpired},
		{"unpinned certificate", pinned, peerOf(sibling), ReasonPinMismatch},
		{"wrong SAN", bySAN, peerOf(sibling), ReasonSANMismatch},
		{"right SAN from the wrong CA", bySAN, peerOf(stranger), ReasonUntrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := check(t, tc.req, tc.peer); got != tc.want {
				t.Errorf("Check = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEachPinAlgorithmAdmitsItsCertificateOnly(t *testing.T) {
	w := newPKI(t)
	sibling := w.ca.Issue(t, testpki.Options{CommonName: "sibling"})
	for _, p := range pinsOf(w.gateway) {
		req := &snapshot.Requirement{Pins: []pin.Pin{p}}
		if got := check(t, req, peerOf(w.gateway)); got != "" {
			t.Errorf("%s pin: pinned certificate got %q", p.Algorithm, got)
		}
		if got := check(t, req, peerOf(sibling)); got != ReasonPinMismatch {
			t.Errorf("%s pin: sibling certificate got %q, want pin_mismatch", p.Algorithm, got)
		}
	}
}

func TestSPKIPinSurvivesRenewalWithTheSameKey(t *testing.T) {
	w := newPKI(t)
	renewed := w.ca.Issue(t, testpki.Options{CommonName: "api-gateway", PrivateKey: w.gateway.Key})
	spki := pinsOf(w.gateway)[2]
	if got := check(t, &snapshot.Requirement{Pins: []pin.Pin{spki}}, peerOf(renewed)); got != "" {
		t.Errorf("renewed certificate with the same key: %q, want pass", got)
	}
	sha := pinsOf(w.gateway)[0]
	if got := check(t, &snapshot.Requirement{Pins: []pin.Pin{sha}}, peerOf(renewed)); got != ReasonPinMismatch {
		t.Errorf("renewed certificate against the old sha256 pin: %q, want pin_mismatch", got)
	}
}

func TestSANMatching(t *testing.T) {
	w := newPKI(t)
	for _, tc := range []struct {
		san  snapshot.SANMatch
		want Reason
	}{
		{snapshot.SANMatch{Type: snapshot.SANDNS, Value: gatewayDNS}, ""},
		{snapshot.SANMatch{Type: snapshot.SANDNS, Value: "API-Gateway.Example.COM"}, ""},
		{snapshot.SANMatch{Type: snapshot.SANDNS, Value: gatewayDNS + "."}, ReasonSANMismatch},
		{snapshot.SANMatch{Type: snapshot.SANDNS, Value: "*.example.com"}, ReasonSANMismatch},
		{snapshot.SANMatch{Type: snapshot.SANDNS, Value: "api-gateway.example.\u212Aom"}, ReasonSANMismatch},
		{snapshot.SANMatch{Type: snapshot.SANURI, Value: gatewayURI}, ""},
		{snapshot.SANMatch{Type: snapshot.SANURI, Value: "spiffe://example.org/ns/payments/sa/GATEWAY"}, ReasonSANMismatch},
		{snapshot.SANMatch{Type: snapshot.SANEmail, Value: gatewayEmail}, ""},
		{snapshot.SANMatch{Type: snapshot.SANEmail, Value: "Gateway@example.com"}, ReasonSANMismatch},
		{snapshot.SANMatch{Type: snapshot.SANURI, Value: gatewayDNS}, ReasonSANMismatch},
	} {
		req := &snapshot.Requirement{Pins: pinsOf(w.gateway), SubjectAltNames: []snapshot.SANMatch{
			{Type: snapshot.SANDNS, Value: "someone-else.example.com"}, tc.san,
		}}
		if got := check(t, req, peerOf(w.gateway)); got != tc.want {
			t.Errorf("SAN %s %q: %q, want %q", tc.san.Type, tc.san.Value, got, tc.want)
		}
	}
}

func TestAuditModeIsVisibleAndCheckStillReports(t *testing.T) {
	w := newPKI(t)
	sibling := w.ca.Issue(t, testpki.Options{CommonName: "sibling"})
	req := Compile(&snapshot.Requirement{Policy: "payments/audit", Pins: pinsOf(w.gateway), Mode: snapshot.ModeAudit})
	if req.Mode() != snapshot.ModeAudit {
		t.Errorf("Mode() = %q, want Audit", req.Mode())
	}
	if got := req.Check(peerOf(sibling), time.Now()); got != ReasonPinMismatch {
		t.Errorf("Check in Audit mode = %q, want pin_mismatch (the caller decides not to reject)", got)
	}
	if got := Compile(&snapshot.Requirement{Pins: pinsOf(w.gateway)}).Mode(); got != snapshot.ModeEnforce {
		t.Errorf("empty mode compiles to %q, want Enforce", got)
	}
}

func TestAllowExpired(t *testing.T) {
	w := newPKI(t)
	expired := w.ca.Issue(t, expiredOpts("expired"))
	for name, req := range map[string]*snapshot.Requirement{
		"pins":  {Pins: pinsOf(expired), AllowExpired: true},
		"trust": {CACertificates: trustOf(w.ca), AllowExpired: true},
	} {
		if got := check(t, req, peerOf(expired)); got != "" {
			t.Errorf("%s with allowExpired: %q, want pass", name, got)
		}
	}
	strangerExpired := w.stranger.Issue(t, expiredOpts("stranger"))
	if got := check(t, &snapshot.Requirement{CACertificates: trustOf(w.ca), AllowExpired: true}, peerOf(strangerExpired)); got != ReasonUntrusted {
		t.Errorf("allowExpired must not trust another CA: %q", got)
	}
}

func TestIntermediateCAChain(t *testing.T) {
	w := newPKI(t)
	issuing := w.ca.Intermediate(t, testpki.CAOptions{Name: "partner issuing CA"})
	leaf := issuing.Issue(t, testpki.Options{CommonName: "behind intermediate"})
	req := &snapshot.Requirement{CACertificates: trustOf(w.ca)}
	if got := check(t, req, peerOf(leaf)); got != "" {
		t.Errorf("leaf presented with its intermediate: %q, want pass", got)
	}
	if got := check(t, req, peerOf(leafOnly(leaf))); got != ReasonUntrusted {
		t.Errorf("leaf presented without its intermediate: %q, want untrusted", got)
	}
	expiredInt := w.ca.Intermediate(t, testpki.CAOptions{Name: "expired int", NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	underExpired := expiredInt.Issue(t, testpki.Options{CommonName: "under expired", NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(time.Hour)})
	if got := check(t, req, peerOf(underExpired)); got != ReasonUntrusted {
		t.Errorf("valid leaf under an expired intermediate: %q, want untrusted", got)
	}
}

func TestCAAndPinsAreBothRequired(t *testing.T) {
	w := newPKI(t)
	sibling := w.ca.Issue(t, testpki.Options{CommonName: "sibling"})
	pinnedStranger := w.stranger.Issue(t, testpki.Options{CommonName: "pinned stranger"})
	req := &snapshot.Requirement{CACertificates: trustOf(w.ca), Pins: append(pinsOf(w.gateway), pinsOf(pinnedStranger)...)}
	for _, tc := range []struct {
		peer *testpki.Cert
		want Reason
	}{{w.gateway, ""}, {sibling, ReasonPinMismatch}, {pinnedStranger, ReasonUntrusted}} {
		if got := check(t, req, peerOf(tc.peer)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.peer.Leaf.Subject.CommonName, got, tc.want)
		}
	}
}
