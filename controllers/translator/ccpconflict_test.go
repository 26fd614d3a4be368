package translator

import (
	"crypto/tls"
	"testing"

	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// TestConflictNeverOpensAPinnedRule translates each conflict scenario in
// which an Audit policy (valid or not, older or sorting first) meets an
// Enforce policy on one rule, and judges a request without a certificate
// the way the data plane does: it must be rejected in Enforce mode, by
// the Enforce policy's requirement.
func TestConflictNeverOpensAPinnedRule(t *testing.T) {
	for scenario, winner := range map[string]string{
		"ccp-conflict-enforce-wins-over-older-invalid-audit":  "payments/enforce",
		"ccp-conflict-enforce-wins-over-audit-same-timestamp": "payments/z-enforce",
		"ccp-conflict-invalid-enforce-wins-over-audit":        "payments/broken-enforce",
	} {
		t.Run(scenario, func(t *testing.T) {
			res := goldenResources(t, "testdata/"+scenario+".in.yaml", newGoldenPKI(t))
			rule := onlyRule(t, Translate(res, Options{Now: goldenNow}).Snapshot)
			if rule.ClientCert == nil || rule.ClientCert.Policy != winner {
				t.Fatalf("the rule's requirement = %+v, want the one of %s", rule.ClientCert, winner)
			}
			req := clientcert.Compile(rule.ClientCert)
			if req.Mode() != snapshot.ModeEnforce {
				t.Errorf("mode = %s, want Enforce", req.Mode())
			}
			if reason := req.Check(clientcert.NewPeer(&tls.ConnectionState{}), goldenNow); reason == "" {
				t.Error("a TLS request without a certificate passes")
			}
		})
	}
}

// onlyRule returns the one rule of a one-listener, one-route snapshot.
func onlyRule(t *testing.T, s snapshot.Snapshot) *snapshot.Rule {
	t.Helper()
	if len(s.Listeners) != 1 || len(s.Listeners[0].Routes) != 1 || len(s.Listeners[0].Routes[0].Rules) != 1 {
		t.Fatalf("want one listener, route and rule in %+v", s)
	}
	return &s.Listeners[0].Routes[0].Rules[0]
}
