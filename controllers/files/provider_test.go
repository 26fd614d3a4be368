package files

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/internal/testconfig"
	"github.com/certgate/certgate/internal/testnet"
)

// servingProvider is a Provider of dir applying to a real data plane,
// and the base URL of the Gateway's listener on port.
func servingProvider(t *testing.T, dir string, port int, out io.Writer) (*Provider, string) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	dp := dataplane.New(dataplane.Options{Metrics: metrics.New(), Log: quiet})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = dp.Shutdown(ctx)
	})
	return New(Options{Dir: dir, Dataplane: dp, Out: out, Log: quiet}), fmt.Sprintf("http://127.0.0.1:%d", port)
}

func backendPort(t *testing.T) int {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	return backend.Listener.Addr().(*net.TCPAddr).Port
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// reloadPrints reloads p and returns what it printed.
func reloadPrints(t *testing.T, p *Provider, out *bytes.Buffer) string {
	t.Helper()
	out.Reset()
	if err := p.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	return out.String()
}

// TestReloadPrintsOnlyNewLinesAndAChangedConditionAgain edits a route
// four times: an edit that changes no status prints only the summary; a
// condition that changes is printed and reported as a problem; when it
// changes back, its earlier line is printed again, as the last reload
// did not have it.
func TestReloadPrintsOnlyNewLinesAndAChangedConditionAgain(t *testing.T) {
	dir, port := t.TempDir(), testnet.FreePort(t)
	write(t, dir, "gateway.yaml", fmt.Sprintf(testconfig.GatewayYAML, port, backendPort(t)))
	write(t, dir, "route.yaml", fmt.Sprintf(testconfig.RouteYAML, "/one"))
	out := &bytes.Buffer{}
	p, base := servingProvider(t, dir, port, out)
	const resolved = "route.yaml: HTTPRoute default/api parentRef default/gw: condition ResolvedRefs=True ResolvedRefs: "
	if first := reloadPrints(t, p, out); !strings.Contains(first, resolved) || !strings.Contains(first, "configuration 1 applied from "+dir+" (0 problems)") {
		t.Fatalf("first reload printed:\n%s", first)
	}

	write(t, dir, "route.yaml", fmt.Sprintf(testconfig.RouteYAML, "/two"))
	if got, want := reloadPrints(t, p, out), "configuration 2 applied from "+dir+" (0 problems)\n"; got != want {
		t.Errorf("an edit that changes no status printed:\n%s\nwant only:\n%s", got, want)
	}
	if code := getStatus(t, base+"/two"); code != http.StatusOK {
		t.Errorf("GET /two after the edit: %d, want 200", code)
	}

	write(t, dir, "route.yaml", strings.Replace(fmt.Sprintf(testconfig.RouteYAML, "/two"), "name: backend", "name: missing", 1))
	broken := reloadPrints(t, p, out)
	lines := strings.Split(strings.TrimSpace(broken), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "route.yaml: HTTPRoute default/api parentRef default/gw: condition ResolvedRefs=False BackendNotFound: ") ||
		lines[1] != "configuration 3 applied from "+dir+" (1 problems)" {
		t.Errorf("a condition that changed printed:\n%s\nwant its new line and the summary", broken)
	}
	if problems := p.Report().Problems; !slices.Equal(problems, lines[:1]) {
		t.Errorf("problems %q, want %q", problems, lines[:1])
	}

	write(t, dir, "route.yaml", fmt.Sprintf(testconfig.RouteYAML, "/two"))
	if fixed := reloadPrints(t, p, out); !strings.Contains(fixed, resolved) || strings.Count(fixed, "\n") != 2 {
		t.Errorf("the condition changed back printed:\n%s\nwant its line again and the summary", fixed)
	}
	if problems := p.Report().Problems; problems == nil || len(problems) != 0 {
		t.Errorf("problems %#v, want an empty list", problems)
	}
}
