package provider

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/kubernetes/gatewayservice"
	"github.com/certgate/certgate/controllers/kubernetes/status"
	"github.com/certgate/certgate/controllers/pipeline"
	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/controllers/translator"
)

// managerStopGrace bounds how long Start waits, after the shutdown delay,
// for the manager's runnables (informers, the status writer, the health
// server) to stop. None of them needs the API server to stop, so they
// take milliseconds whatever state it is in; the bound keeps a library
// that waits anyway from pushing the drain that follows Start past a
// Pod's termination grace (the chart's 35 s = 5 s delay + this + the
// 25 s drain, with 2 s to spare). controller-runtime's default, 30 s,
// would not fit. A runnable still running then makes Start return an
// error.
const managerStopGrace = 3 * time.Second

// retryAfter is how long the provider waits before retrying a run whose
// inputs could not be read (a referenced Secret's GET failed).
const retryAfter = time.Second

// Options configure a Provider.
type Options struct {
	// ControllerName selects the GatewayClasses this provider serves;
	// empty means translator.ControllerName.
	ControllerName gatewayv1.GatewayController
	// Dataplane receives every snapshot; required.
	Dataplane pipeline.Applier
	// GatewayAddress, when set, assigns each Gateway the address it binds
	// (address-pool mode); see translator.Options.
	GatewayAddress func(*gatewayv1.Gateway) (string, bool)
	// GatewayService, when set, turns on the Service-per-Gateway mode
	// (package gatewayservice): the leader provisions a Service per accepted
	// Gateway, and every replica binds the container ports recorded on
	// them. GatewayAddress, if also set, still gives the bind address.
	GatewayService *gatewayservice.Options
	// HealthAddress serves /healthz and /readyz (ready once the first
	// snapshot is applied); empty disables them.
	HealthAddress string
	// ShutdownDelay is how long Start keeps running, not ready, after its
	// context ends: a Service's endpoints drop a terminating Pod only
	// after its readiness fails and kube-proxy catches up, and until then
	// new connections still arrive. Zero stops at once.
	ShutdownDelay time.Duration
	// WatchNamespaces, when not empty, limits the namespaced kinds to these
	// namespaces: their objects are the only ones cached, translated and
	// given status. GatewayClasses and Namespaces are cluster-scoped and
	// always watched. Empty means every namespace.
	WatchNamespaces []string
	// Log receives operational messages; nil discards them.
	Log *slog.Logger
}

// Provider feeds the pipeline from the Kubernetes API and writes status.
// Create it with New, run it with Start, and give it leadership with Lead
// (an Elector does that).
type Provider struct {
	opts      Options
	log       *slog.Logger
	mgr       manager.Manager
	runner    *pipeline.Runner
	debouncer *pipeline.Debouncer
	refs      *refStore
	status    *status.Writer

	// ctx is the context Start runs under, for the debounced runs.
	ctx atomic.Pointer[context.Context]
	// synced is set once every informer has synced. Informers deliver
	// their initial lists as events, which trigger the debouncer before
	// then; runs wait for synced instead of listing a half-filled cache.
	synced atomic.Bool
	ready  atomic.Bool
	// stopping is set when Start's context ends: /readyz fails from then.
	stopping atomic.Bool
}

// New builds a provider for the cluster cfg points at. Nothing runs until
// Start.
func New(cfg *rest.Config, opts Options) (*Provider, error) {
	if opts.Dataplane == nil {
		return nil, errors.New("kubernetes provider: Options.Dataplane is required")
	}
	if opts.ControllerName == "" {
		opts.ControllerName = translator.ControllerName
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	mgr, err := newManager(cfg, opts)
	if err != nil {
		return nil, err
	}
	p := &Provider{opts: opts, log: opts.Log, mgr: mgr}
	p.refs = newRefStore(mgr.GetCache(), mgr.GetAPIReader(), opts.WatchNamespaces)
	p.status = status.NewWriter(mgr.GetClient(), mgr.GetAPIReader(), opts.ControllerName, opts.Log)
	p.status.Events = mgr.GetEventRecorder(string(opts.ControllerName))
	p.runner = &pipeline.Runner{
		Dataplane: opts.Dataplane,
		Options:   translator.Options{ControllerName: opts.ControllerName, GatewayAddress: opts.GatewayAddress, Versioned: true},
		Log:       opts.Log,
	}
	if opts.GatewayService != nil {
		prov := gatewayservice.NewProvisioner(mgr.GetClient(), mgr.GetAPIReader(), opts.ControllerName, *opts.GatewayService, opts.Log)
		p.status.Provision = prov.Provision
		p.runner.Options.ServicePerGateway = true
		p.runner.Options.ServiceNamespace = opts.GatewayService.Namespace
	}
	p.debouncer = pipeline.NewDebouncer(p.sync)
	if err := p.addHealth(); err != nil {
		return nil, err
	}
	return p, nil
}

// newManager builds the controller-runtime manager that owns the cache,
// the clients and the health endpoints. Its own leader election stays off:
// it would stop every runnable, and exit the process, on lease loss; the
// Elector gates status writes instead (package leader). Its metrics server is
// off too: certgate serves the data plane's registry on its own address.
func newManager(cfg *rest.Config, opts Options) (manager.Manager, error) {
	scheme, err := newScheme()
	if err != nil {
		return nil, err
	}
	return manager.New(cfg, manager.Options{
		Scheme:                  scheme,
		Logger:                  logr.FromSlogHandler(opts.Log.Handler()),
		Cache:                   cacheOptions(opts.WatchNamespaces, gatewayServiceNamespace(opts)),
		LeaderElection:          false,
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  opts.HealthAddress,
		GracefulShutdownTimeout: ptr.To(managerStopGrace),
	})
}

// gatewayServiceNamespace is where the Gateways' Services live, or empty
// outside the Service-per-Gateway mode.
func gatewayServiceNamespace(opts Options) string {
	if opts.GatewayService == nil {
		return ""
	}
	return opts.GatewayService.Namespace
}

func (p *Provider) addHealth() error {
	if err := p.mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	return p.mgr.AddReadyzCheck("snapshot", func(*http.Request) error {
		if p.stopping.Load() {
			return errors.New("shutting down")
		}
		if !p.ready.Load() {
			return errors.New("no snapshot applied yet")
		}
		return nil
	})
}

// Start runs the provider until Options.ShutdownDelay after ctx ends: it
// starts the informers, waits for every cache to sync (a translation of a
// half-filled cache would withdraw routes that exist), then translates on
// every change.
func (p *Provider) Start(ctx context.Context) error {
	ctx = p.afterShutdownDelay(ctx)
	p.ctx.Store(&ctx)
	if err := p.watch(ctx, p.mgr.GetCache()); err != nil {
		return err
	}
	if err := p.mgr.Add(unelected(p.run)); err != nil {
		return err
	}
	return p.mgr.Start(ctx)
}

// afterShutdownDelay returns a context that ends Options.ShutdownDelay
// after ctx does; from the moment ctx ends, /readyz fails. Until the
// returned context ends the provider keeps running, so the health
// endpoints answer and snapshots still apply, while the process's caller
// keeps its data plane serving.
func (p *Provider) afterShutdownDelay(ctx context.Context) context.Context {
	delayed, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		<-ctx.Done()
		p.stopping.Store(true)
		if p.opts.ShutdownDelay > 0 {
			p.log.Info("shutting down: not ready, still serving for the shutdown delay", "delay", p.opts.ShutdownDelay)
			time.Sleep(p.opts.ShutdownDelay)
		}
		cancel()
	}()
	return delayed
}

// run is the manager runnable: the first snapshot after the caches sync,
// then the status writer until ctx ends.
func (p *Provider) run(ctx context.Context) error {
	if !p.mgr.GetCache().WaitForCacheSync(ctx) {
		return errors.New("caches did not sync")
	}
	p.log.Info("caches synced; translating")
	p.synced.Store(true)
	p.debouncer.Trigger()
	p.status.Run(ctx)
	p.debouncer.Stop()
	return nil
}

// sync is one debounced run: list everything, translate, apply, publish.
func (p *Provider) sync() {
	ctx := *p.ctx.Load()
	if ctx.Err() != nil || !p.synced.Load() {
		return // run triggers again once the caches have synced
	}
	res, err := p.resources(ctx)
	if err != nil {
		p.log.Error("reading resources failed; retrying", "error", err, "after", retryAfter)
		time.AfterFunc(retryAfter, p.debouncer.Trigger)
		return
	}
	result, err := p.runner.Run(res)
	if result == nil {
		return // the translation panicked; the runner logged it
	}
	if err == nil {
		p.ready.Store(true)
	}
	p.status.Publish(status.Update{Resources: res, Result: result, ApplyErr: err})
}

// resources lists the cache into one sorted Resources.
func (p *Provider) resources(ctx context.Context) (*resources.Resources, error) {
	res := &resources.Resources{}
	if err := listFull(ctx, p.mgr.GetCache(), res); err != nil {
		return nil, err
	}
	if err := p.refs.fill(ctx, res); err != nil {
		return nil, err
	}
	res.Sort()
	return res, nil
}

// Lead makes this provider write status until ctx ends. The Elector calls
// it each time this replica becomes the leader; ctx ends when the lease is
// lost. Without leader election, call it once with the process's context.
func (p *Provider) Lead(ctx context.Context) { p.status.Lead(ctx) }

// Ready reports whether a snapshot has been applied.
func (p *Provider) Ready() bool { return p.ready.Load() }

// Last returns the last translation whose snapshot was applied, or nil.
func (p *Provider) Last() *translator.Result { return p.runner.Last() }

// unelected is a manager runnable that runs on every replica, leader or
// not.
type unelected func(context.Context) error

func (f unelected) Start(ctx context.Context) error { return f(ctx) }

// NeedLeaderElection says that this runnable runs without the lease.
func (f unelected) NeedLeaderElection() bool { return false }
