package dataplane_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// BenchmarkApplyUnchangedPinned applies, again and again, a snapshot of
// 5,000 routes on one HTTPS listener, each pinned by one of 50
// ClientCertPolicies that verify to a CA of their own, with nothing
// changed: the cost a configuration change pays for the pinned routes it
// does not touch. Each snapshot is a new one whose routes hold the rules
// of the one before, as a translation hands over unchanged routes.
func BenchmarkApplyUnchangedPinned(b *testing.B) {
	p := benchPKI(b)
	backend := snapshot.WeightedBackend{Weight: 1, Backend: snapshot.Backend{
		Name: "default/echo:80", Namespace: "default", Service: "echo", Port: 80,
		Endpoints: []snapshot.Endpoint{{Address: "127.0.0.1", Port: 9}},
	}}
	routes := make([]snapshot.Route, 5000)
	for i := range routes {
		var ca *testpki.CA
		if i < 50 {
			ca = testpki.NewCA(b, fmt.Sprintf("CA %d", i))
		}
		rule := prefixRule(fmt.Sprintf("/r%d", i), backend)
		rule.ClientCert = &snapshot.Requirement{
			Policy: fmt.Sprintf("default/p%d", i%50),
			Pins:   []pin.Pin{{Algorithm: pin.SHA256, Digest: make([]byte, 32)}},
		}
		if ca != nil {
			rule.ClientCert.CACertificates = []snapshot.CACertificate{{Name: fmt.Sprintf("default/ca%d", i), PEM: ca.PEM}}
		} else {
			prev := routes[i%50].Rules[0].ClientCert.CACertificates[0]
			rule.ClientCert.CACertificates = []snapshot.CACertificate{{Name: prev.Name, PEM: slices.Clone(prev.PEM)}}
		}
		routes[i] = route(fmt.Sprintf("r%d", i), nil, rule)
	}
	port := freePort(b)
	snap := func() *snapshot.Snapshot {
		return &snapshot.Snapshot{Listeners: []snapshot.Listener{
			httpsListener("https", port, "", []*testpki.Cert{p.serving}, slices.Clone(routes)...),
		}}
	}
	d := dataplane.New(dataplane.Options{Metrics: metrics.New()})
	defer func() { _ = d.Shutdown(context.Background()) }()
	if err := d.Apply(snap()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := d.Apply(snap()); err != nil {
			b.Fatal(err)
		}
	}
}
