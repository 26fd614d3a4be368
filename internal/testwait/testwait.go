// Package testwait polls for what tests wait on: a route served, a status
// written, a Pod ready.
package testwait

import (
	"testing"
	"time"
)

// Interval is how long Until sleeps between checks.
const Interval = 200 * time.Millisecond

// Until calls check until it returns nil, and fails t with what and
// check's last error if that has not happened within d.
func Until(t testing.TB, d time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, d, err)
		}
		time.Sleep(Interval)
	}
}
