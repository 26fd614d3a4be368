package provider

import (
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/pipeline"
)

func testProvider(fired *atomic.Int32) *Provider {
	return &Provider{
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		debouncer: pipeline.NewDebouncer(func() { fired.Add(1) }),
	}
}

func waitFired(t *testing.T, fired *atomic.Int32) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); fired.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the event did not trigger a translation")
		}
	}
}

func TestPanicInEventHandlerIsRecoveredAndStillTriggers(t *testing.T) {
	var fired atomic.Int32
	p := testProvider(&fired)
	defer p.debouncer.Stop()
	p.onEvent(&corev1.Secret{}, func(client.Object) bool { panic("boom") })
	waitFired(t, &fired)
}

func TestTombstoneOfAnUnreferencedObjectIsIgnoredOnlyIfKnown(t *testing.T) {
	var fired atomic.Int32
	p := testProvider(&fired)
	defer p.debouncer.Stop()
	never := func(client.Object) bool { return false }
	p.onEvent(toolscache.DeletedFinalStateUnknown{Obj: &metav1.PartialObjectMetadata{}}, never)
	time.Sleep(30 * time.Millisecond)
	if fired.Load() != 0 {
		t.Fatal("an unreferenced object's deletion triggered a translation")
	}
	p.onEvent("not an object", never) // unknown: assume it matters
	waitFired(t, &fired)
}

func TestOnlyAStatusChangeOfARouteIsIgnored(t *testing.T) {
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "r", Generation: 3, Labels: map[string]string{"team": "a"}}}
	withStatus := route.DeepCopy()
	withStatus.Status.Parents = []gatewayv1.RouteParentStatus{{ControllerName: "certgate.dev/gateway-controller"}}
	if !statusOnly(route, withStatus) {
		t.Error("a status write was counted as a change")
	}
	edited := withStatus.DeepCopy()
	edited.Generation = 4
	relabelled := withStatus.DeepCopy()
	relabelled.Labels = map[string]string{"team": "b"}
	for name, cur := range map[string]*gatewayv1.HTTPRoute{"a spec edit": edited, "a label change": relabelled} {
		if statusOnly(route, cur) {
			t.Errorf("%s was ignored as a status-only update", name)
		}
	}
	grpc := &gatewayv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Name: "g", Generation: 2}}
	grpcStatus := grpc.DeepCopy()
	grpcStatus.Status.Parents = []gatewayv1.RouteParentStatus{{ControllerName: "certgate.dev/gateway-controller"}}
	tls := &gatewayv1.TLSRoute{ObjectMeta: metav1.ObjectMeta{Name: "t", Generation: 5}}
	tlsStatus := tls.DeepCopy()
	tlsStatus.Status.Parents = []gatewayv1.RouteParentStatus{{ControllerName: "certgate.dev/gateway-controller"}}
	if !statusOnly(grpc, grpcStatus) || !statusOnly(tls, tlsStatus) {
		t.Error("a status write of a GRPCRoute or TLSRoute was counted as a change")
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Generation: 1}}
	if statusOnly(svc, svc.DeepCopy()) {
		t.Error("an update of a Service was ignored: the translator reads a Service's status")
	}
}
