package clientcert

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// pki is a small world: the CA the policy trusts, a stranger CA, and the
// gateway's certificate with one SAN of each kind.
type pki struct {
	ca, stranger *testpki.CA
	gateway      *testpki.Cert
}

const (
	gatewayDNS   = "api-gateway.example.com"
	gatewayURI   = "spiffe://example.org/ns/payments/sa/gateway"
	gatewayEmail = "gateway@example.com"
)

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca := testpki.NewCA(t, "partner CA")
	return &pki{
		ca:       ca,
		stranger: testpki.NewCA(t, "stranger CA"),
		gateway: ca.Issue(t, testpki.Options{
			CommonName:     "api-gateway",
			DNSNames:       []string{gatewayDNS},
			URIs:           []string{gatewayURI},
			EmailAddresses: []string{gatewayEmail},
		}),
	}
}

func peerOf(c *testpki.Cert) *Peer { return NewPeer(c.PeerState()) }

func pinsOf(c *testpki.Cert) []pin.Pin { return pin.Of(c.Leaf).Pins() }

func trustOf(cas ...*testpki.CA) []snapshot.CACertificate {
	var out []snapshot.CACertificate
	for _, ca := range cas {
		out = append(out, snapshot.CACertificate{Name: "payments/" + ca.Cert.Subject.CommonName, PEM: ca.PEM})
	}
	return out
}

func expiredOpts(cn string) testpki.Options {
	return testpki.Options{CommonName: cn, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}
}

func check(t *testing.T, r *snapshot.Requirement, p *Peer) Reason {
	t.Helper()
	c := Compile(r)
	if c.Problem() != "" && r.Invalid == "" {
		t.Logf("requirement compiled with problem: %s", c.Problem())
	}
	return c.Check(p, time.Now())
}

func leafOnly(c *testpki.Cert) *testpki.Cert {
	cp := *c
	cp.Chain = []*x509.Certificate{c.Leaf}
	return &cp
}
