package clientcert

import (
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

func TestConnComputesThePeerOnce(t *testing.T) {
	w := newPKI(t)
	var conn Conn
	state := w.gateway.PeerState()
	peers := make([]*Peer, 16)
	var wg sync.WaitGroup
	for i := range peers {
		wg.Go(func() { peers[i] = conn.Peer(state) })
	}
	wg.Wait()
	for i, p := range peers {
		if p != peers[0] {
			t.Fatalf("request %d got a different *Peer", i)
		}
	}
	if conn.Peer(nil) != peers[0] {
		t.Error("a later call with another state built a new Peer")
	}
	if got, ok := conn.Peer(state).Fingerprints(); !ok || got != pin.Of(w.gateway.Leaf) {
		t.Error("cached fingerprints differ from the certificate's")
	}
	if _, ok := NewPeer(&tlsStateWithoutCerts).Fingerprints(); ok {
		t.Error("a peer without a certificate has fingerprints")
	}
}

func TestRemovedPinRejectsNextRequestOnOpenConnection(t *testing.T) {
	w := newPKI(t)
	old := w.ca.Issue(t, testpki.Options{CommonName: "old gateway"})
	var conn Conn
	state := old.PeerState()
	before := Compile(&snapshot.Requirement{CACertificates: trustOf(w.ca), Pins: append(pinsOf(old), pinsOf(w.gateway)...)})
	if got := before.Check(conn.Peer(state), time.Now()); got != "" {
		t.Fatalf("before rotation: %q, want pass", got)
	}
	after := Compile(&snapshot.Requirement{CACertificates: trustOf(w.ca), Pins: pinsOf(w.gateway)})
	if got := after.Check(conn.Peer(state), time.Now()); got != ReasonPinMismatch {
		t.Errorf("next request after the pin was removed: %q, want pin_mismatch", got)
	}
}

func TestTrustRemovedByNewConfigurationRejectsOpenConnection(t *testing.T) {
	w := newPKI(t)
	p := peerOf(w.gateway)
	if got := Compile(&snapshot.Requirement{CACertificates: trustOf(w.ca)}).Check(p, time.Now()); got != "" {
		t.Fatalf("before: %q", got)
	}
	if got := Compile(&snapshot.Requirement{CACertificates: trustOf(w.stranger)}).Check(p, time.Now()); got != ReasonUntrusted {
		t.Errorf("after the CA was replaced: %q, want untrusted", got)
	}
}

func TestCAExpiringUnderAnOpenConnectionIsNoticed(t *testing.T) {
	shortCA := testpki.NewCAWith(t, testpki.CAOptions{Name: "short-lived CA", NotAfter: time.Now().Add(2 * time.Hour)})
	leaf := shortCA.Issue(t, testpki.Options{CommonName: "outlives its CA", NotAfter: time.Now().Add(24 * time.Hour)})
	req := Compile(&snapshot.Requirement{CACertificates: trustOf(shortCA)})
	p := peerOf(leaf)
	if got := req.Check(p, time.Now()); got != "" {
		t.Fatalf("while the CA is valid: %q", got)
	}
	if got := req.Check(p, time.Now().Add(3*time.Hour)); got != ReasonUntrusted {
		t.Errorf("after the CA expired, same connection: %q, want untrusted", got)
	}
}

func TestVerificationCacheIsBounded(t *testing.T) {
	w := newPKI(t)
	p := peerOf(w.gateway)
	for i := 0; i < 3*maxVerifications; i++ {
		if got := Compile(&snapshot.Requirement{CACertificates: trustOf(w.ca)}).Check(p, time.Now()); got != "" {
			t.Fatalf("swap %d: %q", i, got)
		}
	}
	if n := len(p.verifications.verdicts); n > maxVerifications {
		t.Errorf("connection holds %d verdicts after many swaps, want at most %d", n, maxVerifications)
	}
}

func TestPinOnlyCheckDoesNotAllocate(t *testing.T) {
	w := newPKI(t)
	req := Compile(&snapshot.Requirement{Pins: pinsOf(w.gateway)})
	var conn Conn
	state := w.gateway.PeerState()
	now := time.Now()
	conn.Peer(state)
	allocs := testing.AllocsPerRun(100, func() {
		if req.Check(conn.Peer(state), now) != "" {
			t.Fatal("pinned certificate rejected")
		}
	})
	if allocs != 0 {
		t.Errorf("Conn.Peer + Check with pins allocates %v times per request, want 0", allocs)
	}
}

// TestVerifiedChainIsNotVerifiedAgain proves the cache through allocation:
// x509 verification allocates, so a check served from the cache does not.
func TestVerifiedChainIsNotVerifiedAgain(t *testing.T) {
	w := newPKI(t)
	req := Compile(&snapshot.Requirement{CACertificates: trustOf(w.ca), Pins: pinsOf(w.gateway),
		SubjectAltNames: []snapshot.SANMatch{{Type: snapshot.SANURI, Value: gatewayURI}}})
	p := peerOf(w.gateway)
	now := time.Now()
	if got := req.Check(p, now); got != "" {
		t.Fatalf("first request: %q", got)
	}
	if allocs := testing.AllocsPerRun(100, func() { req.Check(p, now) }); allocs != 0 {
		t.Errorf("a repeated check allocates %v times, want 0 (verification cached)", allocs)
	}
}

// Connections that present the same chain share its Peer, and with it the
// verdicts made for each requirement; a new requirement (a configuration
// change) is judged afresh, and a chain that differs in any certificate is
// another Peer: the leaf without the intermediate that made it trusted is
// still untrusted after the whole chain was accepted.
func TestConnectionsPresentingTheSameChainShareItsVerdictsPerRequirement(t *testing.T) {
	w := newPKI(t)
	issuing := w.ca.Intermediate(t, testpki.CAOptions{Name: "partner issuing CA"})
	leaf := issuing.Issue(t, testpki.Options{CommonName: "behind intermediate"})
	var first, second, leafAlone Conn
	p := first.Peer(leaf.PeerState())
	if second.Peer(leaf.PeerState()) != p {
		t.Fatal("a second connection with the same chain got another Peer")
	}
	trusted := Compile(&snapshot.Requirement{CACertificates: trustOf(w.ca)})
	if got := trusted.Check(p, time.Now()); got != "" {
		t.Fatalf("first connection: %q, want accepted", got)
	}
	if got := trusted.Check(leafAlone.Peer(leafOnly(leaf).PeerState()), time.Now()); got != ReasonUntrusted {
		t.Fatalf("the leaf without its intermediate after the chain was accepted: %q, want %q", got, ReasonUntrusted)
	}
	stranger := Compile(&snapshot.Requirement{CACertificates: trustOf(w.stranger)})
	if got := stranger.Check(second.Peer(nil), time.Now()); got != ReasonUntrusted {
		t.Fatalf("second connection under a requirement trusting another CA: %q, want %q", got, ReasonUntrusted)
	}
	if got := trusted.Check(second.Peer(nil), time.Now()); got != "" {
		t.Fatalf("second connection under the first requirement: %q, want accepted", got)
	}
}
