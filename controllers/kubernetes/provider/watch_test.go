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
