package dataplane

import (
	"fmt"
	"testing"

	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// BenchmarkRecordExpiry is the expiry gauges' share of an apply of 5,000
// routes, each pinned by a ClientCertPolicy that verifies a chain to one
// of 50 CAs: work every configuration change does for routes it did not
// touch.
func BenchmarkRecordExpiry(b *testing.B) {
	cas := make([][]byte, 50)
	for i := range cas {
		cas[i] = testpki.NewCA(b, fmt.Sprintf("CA %d", i)).PEM
	}
	routes := make([]snapshot.Route, 5000)
	for i := range routes {
		routes[i] = snapshot.Route{Namespace: "default", Name: fmt.Sprintf("r%d", i), Rules: []snapshot.Rule{{
			ClientCert: &snapshot.Requirement{
				Policy: fmt.Sprintf("default/p%d", i%50),
				// Each route's own copy, as a translation of the policies
				// would hand them over.
				CACertificates: []snapshot.CACertificate{{Name: fmt.Sprintf("default/ca%d", i%50), PEM: append([]byte(nil), cas[i%50]...)}},
			},
		}}}
	}
	s := &snapshot.Snapshot{Listeners: []snapshot.Listener{{Name: "l", Routes: routes}}}
	d := New(Options{Metrics: metrics.New()})
	for b.Loop() {
		d.recordExpiry(s)
	}
}
