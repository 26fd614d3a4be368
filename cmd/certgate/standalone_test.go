package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testconfig"
	"github.com/certgate/certgate/internal/testlog"
	"github.com/certgate/certgate/internal/testnet"
)

func writeConfigFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startStandalone serves dir in-process and returns the listener port's
// base URL and the output; the server stops at the end of the test.
func startStandalone(t *testing.T, dir string, port int) (string, *testlog.Buffer) {
	t.Helper()
	out := &testlog.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- serveStandalone(ctx, standaloneFlags{config: dir, metricsAddress: "127.0.0.1:0"}, out, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("standalone exited %d after shutdown", code)
		}
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port), out
}

// status returns the status code of GET url, or 0 if it fails.
func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// eventually polls cond every 20ms for up to d and reports how long it
// took.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func newBackend(t *testing.T) int {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	return backend.Listener.Addr().(*net.TCPAddr).Port
}

func TestStandaloneServesAnEditWithinASecondAndKeepsServingThroughAMalformedFile(t *testing.T) {
	dir, port := t.TempDir(), testnet.FreePort(t)
	writeConfigFile(t, dir, "gateway.yaml", fmt.Sprintf(testconfig.GatewayYAML, port, newBackend(t)))
	writeConfigFile(t, dir, "route.yaml", fmt.Sprintf(testconfig.RouteYAML, "/one"))
	base, out := startStandalone(t, dir, port)
	eventually(t, 5*time.Second, "the first configuration serves /one", func() bool { return status(base+"/one") == 200 })

	writeConfigFile(t, dir, "route.yaml", fmt.Sprintf(testconfig.RouteYAML, "/two"))
	took := eventually(t, time.Second, "the edited route serves /two", func() bool { return status(base+"/two") == 200 })
	t.Logf("edit served after %s", took)
	if code := status(base + "/one"); code != http.StatusNotFound {
		t.Errorf("/one after the edit: %d, want 404", code)
	}

	writeConfigFile(t, dir, "route.yaml", fmt.Sprintf(testconfig.RouteYAML, "/three")+"---\nkind: [not, an, object\n")
	eventually(t, 2*time.Second, "an error naming route.yaml and its line", func() bool {
		return strings.Contains(out.String(), "error: route.yaml:17:")
	})
	if code := status(base + "/two"); code != 200 {
		t.Errorf("/two after a malformed edit: %d, want 200 from the previous configuration", code)
	}
	if code := status(base + "/three"); code != http.StatusNotFound {
		t.Errorf("/three from a file that did not decode: %d, want 404 (the whole change skipped)", code)
	}
}

func TestStandalonePrintsAProblemNamingFileObjectAndField(t *testing.T) {
	dir, port := t.TempDir(), testnet.FreePort(t)
	writeConfigFile(t, dir, "gateway.yaml", fmt.Sprintf(testconfig.GatewayYAML, port, newBackend(t)))
	writeConfigFile(t, dir, "route.yaml", strings.Replace(fmt.Sprintf(testconfig.RouteYAML, "/"), "name: backend", "name: missing", 1))
	_, out := startStandalone(t, dir, port)
	want := regexp.MustCompile(`(?m)^route\.yaml: HTTPRoute default/api parentRef default/gw: condition ResolvedRefs=False BackendNotFound: .*missing`)
	eventually(t, 5*time.Second, "a ResolvedRefs=False line for route.yaml", func() bool { return want.MatchString(out.String()) })
}
