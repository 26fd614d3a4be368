// Package e2e_test runs the Kubernetes provider against a real
// kube-apiserver and etcd (test/envtest), inside the test binary's own
// network namespace, with real traffic through the data plane.
package e2e_test

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/certgate/certgate/test/envtest"
)

func TestMain(m *testing.M) {
	// controller-runtime and client-go log through these; discarding keeps
	// test output to what the tests say.
	ctrllog.SetLogger(logr.Discard())
	klog.SetLogger(logr.Discard())
	os.Exit(envtest.RunInNetNS(m))
}
