package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/kubernetes/addresspool"
	"github.com/certgate/certgate/controllers/kubernetes/gatewayservice"
	"github.com/certgate/certgate/controllers/kubernetes/leader"
	"github.com/certgate/certgate/controllers/kubernetes/provider"
	"github.com/certgate/certgate/controllers/translator"
	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/metrics"
)

const controllerUsage = `usage: certgate controller [FLAGS]

Runs certgate in a Kubernetes cluster: watches Gateway API resources and
ClientCertPolicies, serves the Gateways of its GatewayClasses, and (the
elected leader only) writes their status.

flags:
`

// serviceAccountNamespace is where Kubernetes mounts the Pod's namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// controllerFlags are the parsed flags of "certgate controller".
type controllerFlags struct {
	metricsAddress, healthAddress string
	leaderElect                   bool
	leaseNamespace, leaseName     string
	controllerName                string
	kubeconfig                    string
	addressPool                   string
	serviceType                   string
	serviceSelector               string
	containerPorts                string
	serviceNamespace              string
	watchNamespaces               string
	shutdownDelay                 time.Duration
	namespaces                    []string
	gatewayService                *gatewayservice.Options
	log                           logFlags
}

// parseControllerFlags parses the flags; code is -1 to go on, otherwise
// the exit status.
func parseControllerFlags(args []string, stdout, stderr io.Writer) (f *controllerFlags, code int) {
	f = &controllerFlags{}
	fs := newCommand("controller", controllerUsage, stderr)
	fs.StringVar(&f.metricsAddress, "metrics-address", ":9090", "address serving /metrics (Prometheus) and /status (the last translation's statuses, JSON); empty disables")
	fs.StringVar(&f.healthAddress, "health-address", ":9091", "address serving /healthz and /readyz (ready once the first snapshot is applied); empty disables")
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "elect one replica to write status; every replica serves traffic either way")
	fs.StringVar(&f.leaseNamespace, "leader-election-namespace", "", "namespace of the leader election Lease; default: the Pod's namespace")
	fs.StringVar(&f.leaseName, "lease-name", "certgate-leader", "name of the leader election Lease")
	fs.StringVar(&f.controllerName, "controller-name", string(translator.ControllerName), "GatewayClass spec.controllerName this controller serves")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file; default: the in-cluster configuration")
	fs.StringVar(&f.addressPool, "gateway-address-pool", "", "CIDR to assign each Gateway its own IP from, by namespace/name (bare metal); the addresses must be local")
	fs.StringVar(&f.serviceType, "gateway-service-type", "", "LoadBalancer, NodePort or ClusterIP: the leader provisions a Service of this type per Gateway and every replica binds the container ports recorded on it; empty disables")
	fs.StringVar(&f.serviceSelector, "gateway-service-selector", "", "labels of the controller's Pods, key=value,...: the selector of the Gateways' Services (with --gateway-service-type)")
	fs.StringVar(&f.serviceNamespace, "gateway-service-namespace", "", "namespace of the Gateways' Services, where the Pods the selector selects run (with --gateway-service-type); default: the Pod's namespace")
	fs.StringVar(&f.containerPorts, "gateway-container-ports", "20000-29999", "range of the container ports the Gateways' Services target (with --gateway-service-type)")
	fs.StringVar(&f.watchNamespaces, "watch-namespaces", "", "namespaces to watch, a,b,...: Gateways, routes, policies and their references elsewhere are ignored (GatewayClasses are cluster-scoped and always watched); empty watches all")
	fs.DurationVar(&f.shutdownDelay, "shutdown-delay", 5*time.Second, "on SIGTERM, how long to keep accepting and serving with /readyz failing, so load balancers and kube-proxy stop sending new connections, before the drain; 0 drains at once")
	f.log.register(fs, "json")
	if code := fs.parse(args, stdout, stderr); code >= 0 {
		return nil, code
	}
	err := f.validate()
	if fs.NArg() != 0 {
		err = fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err != nil {
		fmt.Fprintf(stderr, "certgate controller: %v\n", err)
		return nil, 2
	}
	return f, -1
}

func (f *controllerFlags) validate() error {
	if f.addressPool != "" {
		if _, err := addresspool.New(f.addressPool); err != nil {
			return fmt.Errorf("--gateway-address-pool: %w", err)
		}
	}
	if err := f.validateGatewayService(); err != nil {
		return err
	}
	if err := f.parseWatchNamespaces(); err != nil {
		return err
	}
	if f.shutdownDelay < 0 {
		return fmt.Errorf("--shutdown-delay %s: must not be negative", f.shutdownDelay)
	}
	if err := f.log.validate(); err != nil {
		return err
	}
	if !strings.Contains(f.controllerName, "/") {
		return fmt.Errorf("--controller-name %q: must be a domain-prefixed path such as %s", f.controllerName, translator.ControllerName)
	}
	if f.leaderElect {
		ns, err := podNamespace(f.leaseNamespace, "--leader-election-namespace")
		if err != nil {
			return fmt.Errorf("%w (or pass --leader-elect=false)", err)
		}
		f.leaseNamespace = ns
	}
	return nil
}

// podNamespace is flagValue, or, when it is empty, the namespace of the
// Pod the process runs in.
func podNamespace(flagValue, flagName string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	ns, err := os.ReadFile(serviceAccountNamespace)
	if err != nil {
		return "", fmt.Errorf("%s is required outside a Pod", flagName)
	}
	return strings.TrimSpace(string(ns)), nil
}

// parseWatchNamespaces splits --watch-namespaces into f.namespaces.
func (f *controllerFlags) parseWatchNamespaces() error {
	if f.watchNamespaces == "" {
		return nil
	}
	for ns := range strings.SplitSeq(f.watchNamespaces, ",") {
		ns = strings.TrimSpace(ns)
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fmt.Errorf("--watch-namespaces: %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
		if !slices.Contains(f.namespaces, ns) {
			f.namespaces = append(f.namespaces, ns)
		}
	}
	return nil
}

// validateGatewayService checks the Service-per-Gateway flags. The
// selector and port range are checked even when the mode is off, so a
// chart that always passes them learns of a mistake at once.
func (f *controllerFlags) validateGatewayService() error {
	ports, err := gatewayservice.ParsePortRange(f.containerPorts)
	if err != nil {
		return fmt.Errorf("--gateway-container-ports: %w", err)
	}
	var selector map[string]string
	if f.serviceSelector != "" {
		if selector, err = gatewayservice.ParseSelector(f.serviceSelector); err != nil {
			return fmt.Errorf("--gateway-service-selector: %w", err)
		}
	}
	switch corev1.ServiceType(f.serviceType) {
	case "":
		return nil
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort, corev1.ServiceTypeClusterIP:
	default:
		return fmt.Errorf("--gateway-service-type %q: want LoadBalancer, NodePort or ClusterIP", f.serviceType)
	}
	if selector == nil {
		return errors.New("--gateway-service-type needs --gateway-service-selector (the labels of the controller's Pods)")
	}
	if f.addressPool != "" {
		return errors.New("--gateway-service-type and --gateway-address-pool are exclusive")
	}
	ns, err := podNamespace(f.serviceNamespace, "--gateway-service-namespace")
	if err != nil {
		return err
	}
	f.gatewayService = &gatewayservice.Options{Type: corev1.ServiceType(f.serviceType), Selector: selector, ContainerPorts: ports, Namespace: ns}
	return nil
}

// runController is "certgate controller". Bad flags exit 2; a failure to
// start (no API server, a port in use) exits 1; bad resources never exit,
// they are status.
func runController(args []string, stdout, stderr io.Writer) int {
	f, code := parseControllerFlags(args, stdout, stderr)
	if code >= 0 {
		return code
	}
	log := f.log.logger(stderr)
	ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
	klog.SetSlogLogger(log)
	ctx, stop := stopContext()
	defer stop()
	if err := serveController(ctx, f, log); err != nil {
		log.Error("certgate controller stopped", "error", err)
		return 1
	}
	return 0
}

// serveController runs the data plane, the provider, the elector and the
// metrics and health endpoints until ctx ends, then drains the data plane.
func serveController(ctx context.Context, f *controllerFlags, log *slog.Logger) error {
	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		return err
	}
	m := metrics.New()
	dp := dataplane.New(dataplane.Options{Metrics: m, Log: log, AccessLog: accesslog.NewBuffered(os.Stdout)})
	p, err := provider.New(cfg, providerOptions(f, dp, log))
	if err != nil {
		return err
	}
	status, err := serveStatus(f.metricsAddress, controllerMetricsHandler(m), statusHandler(p))
	if err != nil {
		return fmt.Errorf("--metrics-address: %w", err)
	}
	if err := startLeadership(ctx, cfg, f, p, log); err != nil {
		_ = shutdown(dp, status)
		return err
	}
	err = p.Start(ctx)
	_ = shutdown(dp, status)
	return err
}

func providerOptions(f *controllerFlags, dp *dataplane.Dataplane, log *slog.Logger) provider.Options {
	opts := provider.Options{
		ControllerName:  gatewayv1.GatewayController(f.controllerName),
		Dataplane:       dp,
		HealthAddress:   f.healthAddress,
		WatchNamespaces: f.namespaces,
		ShutdownDelay:   f.shutdownDelay,
		Log:             log,
	}
	if f.addressPool != "" {
		pool, _ := addresspool.New(f.addressPool) // validated with the flags
		opts.GatewayAddress = pool.Assign
	}
	opts.GatewayService = f.gatewayService
	return opts
}

// startLeadership starts the elector, or, without leader election, makes
// this replica write status for as long as it runs.
func startLeadership(ctx context.Context, cfg *rest.Config, f *controllerFlags, p *provider.Provider, log *slog.Logger) error {
	if !f.leaderElect {
		p.Lead(ctx)
		return nil
	}
	el, err := leader.NewElector(cfg, leader.ElectorOptions{
		Namespace: f.leaseNamespace, Name: f.leaseName, OnLeading: p.Lead, Log: log,
	})
	if err != nil {
		return err
	}
	go el.Run(ctx)
	return nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("%w (outside a cluster, pass --kubeconfig)", err)
	}
	return cfg, nil
}

// statusHandler serves /status from the provider's last translation.
func statusHandler(p *provider.Provider) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeStatus(w, p.Last()) })
}

// writeStatus answers /status with the statuses of the last applied
// translation: what the leader writes, visible on every replica.
func writeStatus(w http.ResponseWriter, last *translator.Result) {
	if last == nil {
		http.Error(w, "no snapshot applied yet", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(last.Status)
}
