package e2e_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/kubernetes/provider"
	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/metrics"
)

// testShutdownDelayServesWhileNotReady stops a provider whose
// ShutdownDelay is 2 s, as SIGTERM does in `certgate controller`: from
// that moment /readyz fails, yet for the delay the data plane still
// accepts and serves new connections (the ones kube-proxy sends until it
// catches up), and only then does Start return for the drain.
func (w *world) testShutdownDelayServesWhileNotReady(t *testing.T) {
	const (
		ns, class, controller = "shutdown", "certgate-shutdown", "certgate.dev/shutdown-test"
		port, delay           = 18471, 2 * time.Second
	)
	w.gatewayClass(t, class, controller)
	w.app(t, ns, class, port, ns)
	health := freeAddress(t)
	dp := dataplane.New(dataplane.Options{Metrics: metrics.New(), Log: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = dp.Shutdown(context.Background()) })
	p, err := provider.New(w.env.Config, provider.Options{
		ControllerName: controller, Dataplane: dp, HealthAddress: health, ShutdownDelay: delay,
		GatewayAddress: func(*gatewayv1.Gateway) (string, bool) { return "127.0.0.1", true },
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- p.Start(runCtx) }()
	addr := hostPort("127.0.0.1", port)
	wantStatus(t, "a client before the stop", w.client(nil, addr), http.StatusOK)
	eventually(t, "/readyz 200 before the stop", func() error { return readyz(health, http.StatusOK) })

	stop()
	stopped := time.Now()
	// controller-runtime answers a failed check with 500; a kubelet takes
	// any status from 400 as not ready.
	eventually(t, "/readyz 500 once stopping", func() error { return readyz(health, http.StatusInternalServerError) })
	served := 0
	for ; time.Since(stopped) < delay-500*time.Millisecond; served++ {
		// A fresh client is a fresh connection each time.
		if code, err := status(w.client(nil, addr)); err != nil || code != http.StatusOK {
			t.Fatalf("a new connection %s after the stop: %d, %v; want 200 during the shutdown delay", time.Since(stopped), code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if served == 0 {
		t.Fatalf("/readyz failed only %s after the stop: no time left to try new connections", time.Since(stopped))
	}
	select {
	case err := <-done:
		if took := time.Since(stopped); took < delay {
			t.Fatalf("Start returned after %s, before the %s delay (%v)", took, delay, err)
		}
	case <-time.After(delay + 10*time.Second):
		t.Fatal("Start did not return after the shutdown delay")
	}
}

// freeAddress is a loopback address with a port nothing listens on.
func freeAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// readyz checks the provider's /readyz answers code.
func readyz(health string, code int) error {
	resp, err := http.Get("http://" + health + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != code {
		return fmt.Errorf("/readyz %d, want %d", resp.StatusCode, code)
	}
	return nil
}
