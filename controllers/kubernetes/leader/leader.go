package leader

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Why the elector is separate from the serving process.
//
// Every replica serves traffic; the leader only writes status (and, in the
// Service-per-Gateway mode, provisions the Gateways' Services). controller-runtime's built-in leader election ties
// the whole manager to the lease: a replica that loses it (an API server
// hiccup longer than the renew deadline is enough) stops all runnables
// and exits, and a certgate process that exits drops every connection it
// is serving. So the manager runs without leader election, and this
// Elector campaigns on its own: winning starts a status-writing term
// (OnLeading), losing ends it (its context is cancelled), and the elector
// campaigns again. The data plane never learns about either.
//
// ReleaseOnCancel: on shutdown the lease is released, so another replica
// takes over status writing at once instead of after the lease expires.

// Default lease timings, client-go's usual ones.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// ElectorOptions configure an Elector.
type ElectorOptions struct {
	// Namespace and Name locate the Lease; both required.
	Namespace, Name string
	// Identity is this replica's name in the Lease; empty means the
	// hostname plus a random suffix, unique per process.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's lease
	// timings; zero means the defaults above.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// OnLeading is called, on its own goroutine, each time a term as
	// leader starts; ctx ends when the term does. Required.
	OnLeading func(ctx context.Context)
	// Log receives leadership changes; nil discards them.
	Log *slog.Logger
}

// Elector campaigns for a Lease for as long as it runs.
type Elector struct {
	opts    ElectorOptions
	lock    resourcelock.Interface
	leading atomic.Bool
}

// NewElector returns an elector for the Lease opts names.
func NewElector(cfg *rest.Config, opts ElectorOptions) (*Elector, error) {
	if opts.Namespace == "" || opts.Name == "" || opts.OnLeading == nil {
		return nil, errors.New("leader election: Namespace, Name and OnLeading are required")
	}
	opts.LeaseDuration = cmp.Or(opts.LeaseDuration, DefaultLeaseDuration)
	opts.RenewDeadline = cmp.Or(opts.RenewDeadline, DefaultRenewDeadline)
	opts.RetryPeriod = cmp.Or(opts.RetryPeriod, DefaultRetryPeriod)
	if opts.Identity == "" {
		opts.Identity = defaultIdentity()
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// A request that hangs must not outlive the renew deadline, or a
	// stuck connection would keep a dead leader "leading".
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = opts.RenewDeadline / 2
	c, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: opts.Namespace, Name: opts.Name},
		Client:     c,
		LockConfig: resourcelock.ResourceLockConfig{Identity: opts.Identity},
	}
	return &Elector{opts: opts, lock: lock}, nil
}

// Identity is this elector's name in the Lease.
func (e *Elector) Identity() string { return e.opts.Identity }

// Leading reports whether this elector holds the lease now.
func (e *Elector) Leading() bool { return e.leading.Load() }

// Run campaigns until ctx ends. A lost lease ends the term and starts a
// new campaign; it never returns early and never exits the process.
func (e *Elector) Run(ctx context.Context) {
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(e.config())
		if err != nil {
			e.opts.Log.Error("leader election misconfigured", "error", err)
			return
		}
		le.Run(ctx)
		if ctx.Err() == nil {
			e.opts.Log.Info("lost the lease; the data plane keeps serving; campaigning again", "lease", e.opts.Name)
			sleep(ctx, e.opts.RetryPeriod)
		}
	}
}

func (e *Elector) config() leaderelection.LeaderElectionConfig {
	return leaderelection.LeaderElectionConfig{
		Lock:            e.lock,
		Name:            e.opts.Name,
		LeaseDuration:   e.opts.LeaseDuration,
		RenewDeadline:   e.opts.RenewDeadline,
		RetryPeriod:     e.opts.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				e.leading.Store(true)
				e.opts.Log.Info("became the leader", "lease", e.opts.Name, "identity", e.opts.Identity)
				e.opts.OnLeading(ctx)
			},
			OnStoppedLeading: func() {
				e.leading.Store(false)
				e.opts.Log.Info("stopped leading", "lease", e.opts.Name, "identity", e.opts.Identity)
			},
		},
	}
}

func defaultIdentity() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return cmp.Or(host, "certgate") + "_" + hex.EncodeToString(b)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
