package files

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/controllers/pipeline"
	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/controllers/translator"
)

// Options configure a Provider.
type Options struct {
	// Dir is the configuration directory.
	Dir string
	// Dataplane receives each snapshot.
	Dataplane pipeline.Applier
	// Out receives one line per status condition that changed and per
	// problem; nil discards them.
	Out io.Writer
	// Log receives the runner's messages; nil means slog.Default().
	Log *slog.Logger
}

// Provider serves a configuration directory: it loads it, translates and
// applies it through a pipeline.Runner, reloads it when it changes, and
// keeps the report of the last reload for /status.
type Provider struct {
	opts   Options
	runner *pipeline.Runner
	// reloading serialises Reload, which owns loader.
	reloading sync.Mutex
	loader    Loader
	// remembered are the ClientCertPolicies rememberStatus gave a status,
	// by the decoded object; Reload owns it.
	remembered map[*v1alpha1.ClientCertPolicy]*v1alpha1.ClientCertPolicy

	mu     sync.Mutex // guards report and lines
	report Report
	lines  lineMemory
}

// Report is what /status serves: the outcome of the last reload and the
// status the controller would write.
type Report struct {
	// Applied counts the reloads whose snapshot the data plane took.
	Applied int `json:"applied"`
	// Error is why the last change is not serving (a file that does not
	// decode, a snapshot the data plane refused); empty when it serves.
	Error string `json:"error"`
	// Problems are the status lines that say something is wrong.
	Problems []string `json:"problems"`
	// Status is the status of every object of the last translation.
	Status translator.Status `json:"status"`
}

// New returns a Provider; nothing is read until Reload or Run.
func New(opts Options) *Provider {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	return &Provider{
		opts:   opts,
		runner: &pipeline.Runner{Dataplane: opts.Dataplane, Log: opts.Log},
		report: Report{Problems: []string{}},
	}
}

// Run loads the directory, then watches it and reloads it on change,
// debounced, until ctx ends. A bad configuration is reported, never
// returned: Run only ends with ctx.
func (p *Provider) Run(ctx context.Context) {
	// The fingerprint is taken before the first read, so an edit made
	// during it triggers a reload.
	since, _ := Fingerprint(p.opts.Dir)
	_ = p.Reload()
	d := pipeline.NewDebouncer(func() { _ = p.Reload() })
	defer d.Stop()
	Watch(ctx, p.opts.Dir, PollInterval, since, d.Trigger)
}

// Reload reads the directory and applies it. When a file does not decode,
// or the data plane refuses the snapshot, the whole change is skipped and
// the previous configuration keeps serving; the error is printed as one
// line and returned.
func (p *Provider) Reload() error {
	p.reloading.Lock()
	defer p.reloading.Unlock()
	l, err := p.loader.Load(p.opts.Dir)
	if err != nil {
		return p.fail(err)
	}
	p.rememberStatus(l.Resources)
	result, err := p.runner.Run(l.Resources)
	if result == nil {
		return p.fail(err)
	}
	p.publish(&result.Status, l, err)
	if err != nil {
		return p.fail(fmt.Errorf("the data plane refused the configuration: %w", err))
	}
	return nil
}

// rememberStatus gives each ClientCertPolicy the renewal memory of the
// last applied translation's status (its PEM and retiring pins), as the
// API server gives it to the controller, so a renewed certificate's
// previous pin keeps passing for keepPrevious (see the translator's
// resolveRenewal). The memory lives as long as the process; a restart
// forgets it. The policy is copied before its status is set: the
// Loader shares decoded objects between reloads.
func (p *Provider) rememberStatus(res *resources.Resources) {
	last := p.runner.Last()
	if last == nil {
		return
	}
	prev := map[types.NamespacedName]*v1alpha1.ClientCertPolicyStatus{}
	for i := range last.Status.ClientCertPolicies {
		s := &last.Status.ClientCertPolicies[i]
		prev[s.NamespacedName] = &s.Status
	}
	kept := map[*v1alpha1.ClientCertPolicy]*v1alpha1.ClientCertPolicy{}
	// The list is the Loader's too (Loaded.Resources): a copy is changed.
	res.ClientCertPolicies = slices.Clone(res.ClientCertPolicies)
	for i, policy := range res.ClientCertPolicies {
		st, ok := prev[client.ObjectKeyFromObject(policy)]
		if !ok {
			continue
		}
		withStatus := p.remembered[policy]
		// The same memory on the same object gives the same object, so the
		// translator can take the rules of the routes the policy governs
		// (translator/reuse.go).
		if withStatus == nil || !reflect.DeepEqual(withStatus.Status.PEMPins, st.PEMPins) ||
			!reflect.DeepEqual(withStatus.Status.RetiringPins, st.RetiringPins) {
			withStatus, st = policy.DeepCopy(), st.DeepCopy()
			withStatus.Status.PEMPins, withStatus.Status.RetiringPins = st.PEMPins, st.RetiringPins
		}
		kept[policy] = withStatus
		res.ClientCertPolicies[i] = withStatus
	}
	p.remembered = kept
}

// fail reports a reload that changed nothing.
func (p *Provider) fail(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.report.Error = err.Error()
	for _, e := range loadErrors(err) {
		fmt.Fprintf(p.opts.Out, "error: %v (change skipped; the previous configuration keeps serving)\n", e)
	}
	return err
}

// publish prints the lines of st (see Lines) that the previous reload did
// not have, then one summary line, and records the report.
func (p *Provider) publish(st *translator.Status, l *Loaded, applyErr error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fresh, problems := p.lines.update(st, l)
	for _, text := range fresh {
		fmt.Fprintln(p.opts.Out, text)
	}
	p.report.Status, p.report.Problems, p.report.Error = *st, problems, ""
	if applyErr == nil {
		p.report.Applied++
		fmt.Fprintf(p.opts.Out, "configuration %d applied from %s (%d problems)\n", p.report.Applied, p.opts.Dir, len(problems))
	}
}

// Report returns the report of the last reload.
func (p *Provider) Report() Report {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.report
}

// ServeHTTP serves the report as JSON (the /status endpoint).
func (p *Provider) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(p.Report())
}
