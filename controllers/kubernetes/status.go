package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/controllers/translator"
)

// update is one translation for the status writer: the objects it read,
// its result, and the error of applying its snapshot.
type update struct {
	res      *resources.Resources
	result   *translator.Result
	applyErr error
}

// statusWriter writes the statuses of the latest translation while this
// replica leads. It runs on its own goroutine so that slow or failing API
// writes never delay the next snapshot; only the latest update matters,
// so a newer one replaces one not yet written.
type statusWriter struct {
	client     client.Client
	api        client.Reader
	controller gatewayv1.GatewayController
	log        *slog.Logger
	kick       chan struct{}
	// provision, when set, provisions the Gateways' Services before the
	// statuses are written, in the same leadership term; true asks for a
	// retry.
	provision func(ctx context.Context, u *update) (retry bool)

	mu     sync.Mutex
	latest *update
	// lead is the context of the current term as leader; it ends when the
	// lease is lost. nil before the first term.
	lead context.Context
}

func newStatusWriter(c client.Client, api client.Reader, controller gatewayv1.GatewayController, log *slog.Logger) *statusWriter {
	return &statusWriter{client: c, api: api, controller: controller, log: log, kick: make(chan struct{}, 1)}
}

// Publish hands the writer a newer translation.
func (w *statusWriter) Publish(u update) {
	w.mu.Lock()
	w.latest = &u
	w.mu.Unlock()
	w.wake()
}

// Lead starts a term as leader, which lasts until ctx ends. The latest
// translation is written at once: the previous leader may have stopped
// before writing it.
func (w *statusWriter) Lead(ctx context.Context) {
	w.mu.Lock()
	w.lead = ctx
	w.mu.Unlock()
	w.log.Info("leading: writing status")
	w.wake()
}

func (w *statusWriter) wake() {
	select {
	case w.kick <- struct{}{}:
	default: // a wake-up is already pending; it will see the latest state
	}
}

// run writes on every wake-up until ctx ends.
func (w *statusWriter) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
			w.writeLatest()
		}
	}
}

// writeLatest writes the latest update if this replica leads. Writes run
// under the term's context, so losing the lease cancels them mid-way.
func (w *statusWriter) writeLatest() {
	w.mu.Lock()
	u, lead := w.latest, w.lead
	w.mu.Unlock()
	if u == nil || lead == nil || lead.Err() != nil {
		return
	}
	if w.provision != nil && w.provision(lead, u) {
		time.AfterFunc(retryAfter, w.wake)
	}
	if u.applyErr != nil {
		u = withApplyFailure(u)
	}
	w.writeAll(lead, u)
}

// writeAll writes every kind's statuses.
func (w *statusWriter) writeAll(ctx context.Context, u *update) {
	w.writeGatewayClasses(ctx, u)
	w.writeGateways(ctx, u)
	w.writeHTTPRoutes(ctx, u)
	w.writeBackendTLSPolicies(ctx, u)
	w.writeClientCertPolicies(ctx, u)
}

// write updates obj's status subresource if merge changes it. On a
// conflict (someone else wrote in between) it reads the object again
// straight from the API server, merges again and retries: merging into the
// fresh object is what keeps other controllers' entries.
func (w *statusWriter) write(ctx context.Context, obj client.Object, merge func() bool) {
	key := client.ObjectKeyFromObject(obj)
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			if err := w.api.Get(ctx, key, obj); err != nil {
				return err
			}
		}
		first = false
		if !merge() {
			return nil
		}
		w.log.Debug("writing status", "kind", fmt.Sprintf("%T", obj), "object", key)
		return w.client.Status().Update(ctx, obj)
	})
	switch {
	case err == nil, apierrors.IsNotFound(err):
	case ctx.Err() != nil:
		w.log.Info("status write abandoned: no longer leading", "kind", fmt.Sprintf("%T", obj), "object", key)
	default:
		w.log.Error("writing status failed", "kind", fmt.Sprintf("%T", obj), "object", key, "error", err)
	}
}

// withApplyFailure returns u with every Gateway marked not programmed:
// the data plane refused the snapshot and still serves the previous one,
// so the translated "Programmed=True" would be a lie.
func withApplyFailure(u *update) *update {
	out := *u
	result := *u.result
	result.Status.Gateways = make([]translator.GatewayStatus, len(u.result.Status.Gateways))
	for i, g := range u.result.Status.Gateways {
		g.Status = *g.Status.DeepCopy()
		meta.SetStatusCondition(&g.Status.Conditions, metav1.Condition{
			Type:    string(gatewayv1.GatewayConditionProgrammed),
			Status:  metav1.ConditionFalse,
			Reason:  string(gatewayv1.GatewayReasonInvalid),
			Message: "the data plane rejected the configuration, and keeps serving the previous one: " + u.applyErr.Error(),
		})
		result.Status.Gateways[i] = g
	}
	out.result = &result
	return &out
}

func nn(o client.Object) types.NamespacedName { return client.ObjectKeyFromObject(o) }
