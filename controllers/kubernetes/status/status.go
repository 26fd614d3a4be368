package status

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

// retryAfter is how long the writer waits before provisioning again after
// a run that asked for a retry.
const retryAfter = time.Second

// Update is one translation for the status writer: the objects it read,
// its result, and the error of applying its snapshot.
type Update struct {
	Resources *resources.Resources
	Result    *translator.Result
	ApplyErr  error
}

// Writer writes the statuses of the latest translation while this
// replica leads. It runs on its own goroutine so that slow or failing API
// writes never delay the next snapshot; only the latest update matters,
// so a newer one replaces one not yet written.
type Writer struct {
	client     client.Client
	api        client.Reader
	controller gatewayv1.GatewayController
	log        *slog.Logger
	kick       chan struct{}
	// Provision, when set, provisions the Gateways' Services before the
	// statuses are written, in the same leadership term; true asks for a
	// retry. Set it before Run.
	Provision func(ctx context.Context, res *resources.Resources, result *translator.Result) (retry bool)
	// Events, when set, records an Event on a ClientCertPolicy whose
	// Accepted condition a write changed (events.go). Set it before Run.
	Events EventRecorder

	mu     sync.Mutex
	latest *Update
	// lead is the context of the current term as leader; it ends when the
	// lease is lost. nil before the first term.
	lead context.Context
}

// NewWriter returns a writer that updates statuses through c and rereads
// conflicting objects from api. It writes nothing until Lead and Run.
func NewWriter(c client.Client, api client.Reader, controller gatewayv1.GatewayController, log *slog.Logger) *Writer {
	return &Writer{client: c, api: api, controller: controller, log: log, kick: make(chan struct{}, 1)}
}

// Publish hands the writer a newer translation.
func (w *Writer) Publish(u Update) {
	w.mu.Lock()
	w.latest = &u
	w.mu.Unlock()
	w.wake()
}

// Lead starts a term as leader, which lasts until ctx ends. The latest
// translation is written at once: the previous leader may have stopped
// before writing it.
func (w *Writer) Lead(ctx context.Context) {
	w.mu.Lock()
	w.lead = ctx
	w.mu.Unlock()
	w.log.Info("leading: writing status")
	w.wake()
}

func (w *Writer) wake() {
	select {
	case w.kick <- struct{}{}:
	default: // a wake-up is already pending; it will see the latest state
	}
}

// Run writes on every wake-up until ctx ends.
func (w *Writer) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
			w.writeLatest(ctx)
		}
	}
}

// writeLatest writes the latest update if this replica leads. Writes end
// with the term or with run (Run's context), whichever ends first: losing
// the lease cancels them mid-way, and so does stopping, even while the
// term goes on, since the API server may not answer (a request to one
// that accepts connections and never replies has no other end) and Run
// must return for the process to stop.
func (w *Writer) writeLatest(run context.Context) {
	w.mu.Lock()
	u, lead := w.latest, w.lead
	w.mu.Unlock()
	if u == nil || lead == nil || lead.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(lead)
	defer cancel()
	defer context.AfterFunc(run, cancel)()
	if w.Provision != nil && w.Provision(ctx, u.Resources, u.Result) {
		time.AfterFunc(retryAfter, w.wake)
	}
	if u.ApplyErr != nil {
		u = withApplyFailure(u)
	}
	w.writeAll(ctx, u)
}

// writeAll writes every kind's statuses.
func (w *Writer) writeAll(ctx context.Context, u *Update) {
	w.writeGatewayClasses(ctx, u)
	w.writeGateways(ctx, u)
	w.writeRoutes(ctx, u)
	w.writeBackendTLSPolicies(ctx, u)
	w.writeClientCertPolicies(ctx, u)
}

// write updates obj's status subresource if merge changes it. On a
// conflict (someone else wrote in between) it reads the object again
// straight from the API server, merges again and retries: merging into the
// fresh object is what keeps other controllers' entries. It reports
// whether the object now holds the merged status (written, or already so).
func (w *Writer) write(ctx context.Context, obj client.Object, merge func() bool) (ok bool) {
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
	case err == nil:
		return true
	case apierrors.IsNotFound(err):
	case ctx.Err() != nil:
		w.log.Info("status write abandoned: no longer leading, or stopping", "kind", fmt.Sprintf("%T", obj), "object", key)
	default:
		w.log.Error("writing status failed", "kind", fmt.Sprintf("%T", obj), "object", key, "error", err)
	}
	return false
}

// withApplyFailure returns u with every Gateway marked not programmed:
// the data plane refused the snapshot and still serves the previous one,
// so the translated "Programmed=True" would be a lie.
func withApplyFailure(u *Update) *Update {
	out := *u
	result := *u.Result
	result.Status.Gateways = make([]translator.GatewayStatus, len(u.Result.Status.Gateways))
	for i, g := range u.Result.Status.Gateways {
		g.Status = *g.Status.DeepCopy()
		meta.SetStatusCondition(&g.Status.Conditions, metav1.Condition{
			Type:    string(gatewayv1.GatewayConditionProgrammed),
			Status:  metav1.ConditionFalse,
			Reason:  string(gatewayv1.GatewayReasonInvalid),
			Message: "the data plane rejected the configuration, and keeps serving the previous one: " + u.ApplyErr.Error(),
		})
		result.Status.Gateways[i] = g
	}
	out.Result = &result
	return &out
}

func nn(o client.Object) types.NamespacedName { return client.ObjectKeyFromObject(o) }
