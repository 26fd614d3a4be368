package files

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/internal/testconfig"
	"github.com/certgate/certgate/internal/testnet"
)

const reuseRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: pinned
spec:
  parentRefs:
  - name: gw
  rules:
  - matches:
    - path: {type: PathPrefix, value: /pinned}
    backendRefs:
    - name: backend
      port: 80
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: open
spec:
  parentRefs:
  - name: gw
  rules:
  - matches:
    - path: {type: PathPrefix, value: /open-%d}
    backendRefs:
    - name: backend
      port: 80
`

const reusePolicy = `apiVersion: certgate.dev/v1alpha1
kind: ClientCertPolicy
metadata:
  name: pin
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: pinned
  pins:
  - sha256: "` + "ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab" + `"
`

// TestReloadTakesTheRulesOfUnchangedRoutes checks that standalone gives
// the translator what lets it take the rules of unchanged routes
// (translator/reuse.go): the same objects for unchanged files, one
// synthetic GatewayClass, one copy of a ClientCertPolicy with its
// remembered status while that status is the same, and the same object
// for a route its edited file left as it was. An edited route's rules are
// converted again.
func TestReloadTakesTheRulesOfUnchangedRoutes(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "gw.yaml", fmt.Sprintf(testconfig.GatewayYAML, testnet.FreePort(t), testnet.FreePort(t)))
	write(t, dir, "policy.yaml", reusePolicy)
	write(t, dir, "routes.yaml", fmt.Sprintf(reuseRoutes, 1))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dp := dataplane.New(dataplane.Options{Metrics: metrics.New(), Log: quiet})
	t.Cleanup(func() { _ = dp.Shutdown(context.Background()) })
	p := New(Options{Dir: dir, Dataplane: dp, Log: quiet})
	reload := func() map[string]any {
		t.Helper()
		if err := p.Reload(); err != nil {
			t.Fatal(err)
		}
		return ruleAddresses(p)
	}
	first, second := reload(), reload()
	third := reload()
	for _, name := range []string{"default/pinned", "default/open"} {
		if first[name] == nil || second[name] != third[name] {
			t.Errorf("route %s: rules converted again on a reload that changed nothing (%v, %v)", name, second[name], third[name])
		}
	}
	write(t, dir, "routes.yaml", fmt.Sprintf(reuseRoutes, 2))
	fourth := reload()
	if fourth["default/open"] == third["default/open"] || fourth["default/open"] == nil {
		t.Errorf("edited route: rules %v, want new ones (were %v)", fourth["default/open"], third["default/open"])
	}
	if fourth["default/pinned"] != third["default/pinned"] {
		t.Errorf("route left as it was in an edited file: rules converted again (%v, %v)", third["default/pinned"], fourth["default/pinned"])
	}
}

// ruleAddresses maps each route of the last applied snapshot to the
// address of its first rule.
func ruleAddresses(p *Provider) map[string]any {
	out := map[string]any{}
	for _, l := range p.runner.Last().Snapshot.Listeners {
		for j := range l.Routes {
			r := &l.Routes[j]
			if len(r.Rules) > 0 {
				out[r.Namespace+"/"+r.Name] = &r.Rules[0]
			}
		}
	}
	return out
}
