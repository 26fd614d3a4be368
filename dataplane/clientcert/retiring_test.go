package clientcert

import (
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// TestRetiringPinPassesUntilItsExpiry judges the previous certificate of
// a renewal: it passes, marked Retiring, while the request's time is
// before the pin's expiry, and is a pin mismatch from the expiry on. The
// renewed certificate passes without the mark.
func TestRetiringPinPassesUntilItsExpiry(t *testing.T) {
	w := newPKI(t)
	previous := w.ca.Issue(t, testpki.Options{CommonName: "client"})
	now := time.Now()
	expires := now.Add(time.Minute)
	r := Compile(&snapshot.Requirement{
		Policy:       "payments/renewed",
		Pins:         pinsOf(w.gateway)[:1],
		RetiringPins: []snapshot.RetiringPin{{Pin: pinsOf(previous)[0], Expires: expires}},
	})
	for _, tc := range []struct {
		name string
		peer *Peer
		at   time.Time
		want Verdict
	}{
		{"renewed certificate", peerOf(w.gateway), now, Verdict{}},
		{"previous certificate before the expiry", peerOf(previous), now, Verdict{Retiring: true}},
		{"previous certificate at the expiry", peerOf(previous), expires, Verdict{Reason: ReasonPinMismatch}},
		{"renewed certificate after the expiry", peerOf(w.gateway), expires.Add(time.Hour), Verdict{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Judge(tc.peer, tc.at); got != tc.want {
				t.Errorf("Judge = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRetiringPinsAloneDoNotMakeAPinCheck proves retiring pins only widen
// an existing pin check: with no pins and no CA the requirement is
// invalid, so it fails closed rather than pinning only a certificate on
// its way out.
func TestRetiringPinsAloneDoNotMakeAPinCheck(t *testing.T) {
	w := newPKI(t)
	r := Compile(&snapshot.Requirement{
		Policy:       "payments/renewed",
		RetiringPins: []snapshot.RetiringPin{{Pin: pinsOf(w.gateway)[0], Expires: time.Now().Add(time.Hour)}},
	})
	if got := r.Check(peerOf(w.gateway), time.Now()); got != ReasonPolicyInvalid {
		t.Errorf("Check = %q, want %q", got, ReasonPolicyInvalid)
	}
}

// TestMalformedRetiringPinMakesTheRequirementInvalid fails closed on a
// retiring pin the data plane cannot read.
func TestMalformedRetiringPinMakesTheRequirementInvalid(t *testing.T) {
	w := newPKI(t)
	r := Compile(&snapshot.Requirement{
		Policy:       "payments/renewed",
		Pins:         pinsOf(w.gateway)[:1],
		RetiringPins: []snapshot.RetiringPin{{Pin: pin.Pin{Algorithm: pin.SHA256, Digest: []byte{1, 2}}}},
	})
	if got := r.Check(peerOf(w.gateway), time.Now()); got != ReasonPolicyInvalid {
		t.Errorf("Check = %q, want %q (problem %q)", got, ReasonPolicyInvalid, r.Problem())
	}
}
