//go:build conformance

// Package readme runs the README's "Install on a cluster" section, every
// command of it in order, the way a newcomer types them into a terminal,
// against a local cluster of its own (test/cluster):
//
//	go test -tags conformance -count=1 -v ./test/conformance/readme/
//
// The cluster is this package's alone, and starts empty: no Gateway API
// CRDs, no certgate. The README installs both, a Helm release named
// certgate in certgate-system with the GatewayClass certgate, and
// uninstalls them: in the cluster of test/conformance, which installs the
// same release, the two would collide on every cluster-scoped object (the
// CRDs, the GatewayClass, the RBAC), and its uninstall would pull the
// release from under the conformance suite. A cluster starts in well under
// a minute, so isolation costs little.
package readme_test

import (
	"os"
	"testing"

	"github.com/certgate/certgate/test/cluster"
)

func TestMain(m *testing.M) {
	os.Exit(cluster.RunTests(m, cluster.Config{}))
}
