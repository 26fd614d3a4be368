package metrics

import (
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certgate/certgate/internal/buildinfo"
)

func TestRouteRecorderCountsCodesAndClassifiesDurations(t *testing.T) {
	m := New()
	r := m.Route("ns/gw", "ns", "api")
	r.Record("GET", 200, time.Millisecond)
	r.Record("GET", 200, time.Millisecond)
	r.Record("BREW", 418, time.Millisecond)
	if got := testutil.ToFloat64(m.HTTPRequests.WithLabelValues("ns/gw", "ns", "api", "200")); got != 2 {
		t.Errorf("200s = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.HTTPRequests.WithLabelValues("ns/gw", "ns", "api", "418")); got != 1 {
		t.Errorf("418s = %v, want 1", got)
	}
	if got := testutil.CollectAndCount(m.HTTPRequestDuration); got != 2 {
		t.Errorf("duration series = %d, want 2 (GET 2xx, other 4xx)", got)
	}
}

// TestRouteCreatesNoSeriesUntilARequest: a route that serves nothing
// exports nothing, so a large configuration's scrape stays small.
func TestRouteCreatesNoSeriesUntilARequest(t *testing.T) {
	m := New()
	for i := range 1000 {
		m.Route("ns/gw", "ns", fmt.Sprint("route-", i))
	}
	if n := testutil.CollectAndCount(m.HTTPRequests) + testutil.CollectAndCount(m.HTTPRequestDuration); n != 0 {
		t.Errorf("series before any request = %d, want 0", n)
	}
}

func TestAppliedCountsResultsAndTime(t *testing.T) {
	m := New()
	if got := testutil.ToFloat64(m.ConfigApplies.WithLabelValues("failure")); got != 0 {
		t.Fatalf("failure starts at %v, want an existing series at 0", got)
	}
	now := time.Unix(1_800_000_000, 0)
	m.Applied(nil, now)
	m.Applied(errors.New("bad"), now.Add(time.Hour))
	if got := testutil.ToFloat64(m.ConfigApplies.WithLabelValues("success")); got != 1 {
		t.Errorf("success = %v", got)
	}
	if got := testutil.ToFloat64(m.ConfigLastApplied); got != 1_800_000_000 {
		t.Errorf("last applied = %v, want the successful apply's time", got)
	}
}

func TestHandlerServesTheRegistry(t *testing.T) {
	m := New()
	m.Route("ns/gw", "ns", "api").Record("GET", 403, time.Millisecond)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), `certgate_http_requests_total{code="403",gateway="ns/gw",namespace="ns",route="api"} 1`) {
		t.Errorf("/metrics lacks the request counter:\n%.2000s", body)
	}
}

func TestRetainDropsTheSeriesOfRemovedRoutes(t *testing.T) {
	m := New()
	m.Route("ns/gw", "ns", "kept").Record("GET", 200, time.Millisecond)
	m.Route("ns/gw", "ns", "removed").Record("GET", 200, time.Millisecond)
	m.ClientCertRejections.WithLabelValues("ns", "removed", "0", "missing", "enforce").Inc()
	m.Retain() // the first configuration is live

	m.Route("ns/gw", "ns", "kept") // the next configuration has only "kept"
	m.Retain()

	if n := testutil.CollectAndCount(m.HTTPRequests); n != 1 {
		t.Errorf("request series = %d, want only the kept route's", n)
	}
	if n := testutil.CollectAndCount(m.ClientCertRejections); n != 0 {
		t.Errorf("rejection series of the removed route = %d, want 0", n)
	}
	if n := testutil.CollectAndCount(m.HTTPRequestDuration); n != 1 {
		t.Errorf("duration series = %d, want the kept route's only", n)
	}
}

// TestKeepRetainsARouteAsAskingByItsLabels: a recorder kept by Keep
// keeps its series over Retains, as Route asked again would; one whose
// series a Retain dropped comes back as the recorder Route gives for its
// labels, which records again.
func TestKeepRetainsARouteAsAskingByItsLabels(t *testing.T) {
	m := New()
	kept := m.Route("ns/gw", "ns", "kept")
	kept.Record("GET", 200, time.Millisecond)
	dropped := m.Route("ns/gw", "ns", "dropped")
	m.Retain() // the first configuration is live
	for range 3 {
		if got := m.Keep(kept); got != kept {
			t.Fatal("Keep gave another recorder for a route kept since")
		}
		m.Retain()
	}
	if n := testutil.CollectAndCount(m.HTTPRequests); n != 1 {
		t.Errorf("request series = %d, want the kept route's", n)
	}
	back := m.Keep(dropped)
	if back != m.Route("ns/gw", "ns", "dropped") {
		t.Error("Keep of a dropped recorder is not the one Route gives for its labels")
	}
	back.Record("GET", 200, time.Millisecond)
	m.Keep(kept)
	m.Retain()
	if n := testutil.CollectAndCount(m.HTTPRequests); n != 2 {
		t.Errorf("request series = %d, want the kept route's and the one asked for again", n)
	}
}

// TestBuildInfoIsServed: /metrics, fetched over a loopback socket, names
// the running build in certgate_build_info with the value 1.
func TestBuildInfoIsServed(t *testing.T) {
	srv := httptest.NewServer(New().Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	b := buildinfo.Read()
	want := `certgate_build_info{goversion="` + b.GoVersion + `",revision="` + b.Revision + `",version="` + b.Version + `"} 1`
	if !strings.Contains(string(body), want+"\n") {
		t.Errorf("/metrics lacks %s:\n%.3000s", want, body)
	}
}

func TestBackendSeriesAppearAtFirstAttemptAndLeaveWithTheBackend(t *testing.T) {
	m := New()
	r := m.Backend("ns", "api")
	m.Backend("ns", "idle")
	if n := testutil.CollectAndCount(m.UpstreamRequests); n != 0 {
		t.Fatalf("upstream series before any attempt = %d, want 0", n)
	}
	r.Attempt(503, false, time.Millisecond)
	r.Attempt(0, true, time.Millisecond)
	r.Attempt(200, false, time.Millisecond)
	for class, want := range map[string]float64{"2xx": 1, "5xx": 1, "error": 1, "4xx": 0} {
		if got := testutil.ToFloat64(m.UpstreamRequests.WithLabelValues("ns", "api", class)); got != want {
			t.Errorf("code=%q: %v, want %v", class, got, want)
		}
	}
	m.Retain()
	m.Retain() // a configuration without the backend is live
	if n := testutil.CollectAndCount(m.UpstreamRequests) + testutil.CollectAndCount(m.UpstreamRequestDuration); n != 0 {
		t.Errorf("series of a removed backend = %d, want 0", n)
	}
}

func TestClasses(t *testing.T) {
	for method, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "get": "other", "PROPFIND": "other", "CONNECT": "other"} {
		if got := MethodClass(method); got != want {
			t.Errorf("MethodClass(%q) = %q, want %q", method, got, want)
		}
	}
	for code, want := range map[int]string{101: "1xx", 200: "2xx", 399: "3xx", 404: "4xx", 499: "4xx", 504: "5xx", 999: "5xx"} {
		if got := CodeClass(code); got != want {
			t.Errorf("CodeClass(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestRetainDropsTheHandshakeFailuresOfRemovedListeners(t *testing.T) {
	m := New()
	m.Listener("ns/gw", "ns/gw/kept")
	m.Listener("ns/gw", "ns/gw/removed")
	m.HandshakeFailed("443", "ns/gw", "ns/gw/kept", "unknown_ca")
	m.HandshakeFailed("443", "ns/gw", "ns/gw/removed", "unknown_ca")
	m.HandshakeFailed("443", "", "", "protocol")
	m.Retain()
	m.Listener("ns/gw", "ns/gw/kept")
	m.Retain()
	if n := testutil.CollectAndCount(m.DownstreamTLSHandshakeFailures); n != 2 {
		t.Errorf("handshake failure series = %d, want the kept listener's and the port's", n)
	}
	if got := testutil.ToFloat64(m.DownstreamTLSHandshakeFailures.WithLabelValues("443", "ns/gw", "ns/gw/kept", "unknown_ca")); got != 1 {
		t.Errorf("kept listener's failures = %v, want 1", got)
	}
}

// A route's recorder creates nothing until its first request: a
// configuration of many routes that serve nothing costs little more than
// their labels, and the recorder kept across Retains stays that small.
func TestRouteRecorderIsSmallUntilItsFirstRequest(t *testing.T) {
	m := New()
	const routes = 2000
	names := make([]string, routes)
	for i := range names {
		names[i] = "route-" + strconv.Itoa(i)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, name := range names {
		m.Route("ns/gw", "ns", name)
	}
	m.Retain()
	runtime.ReadMemStats(&after)
	// Its share of the recorders' map included; a recorder that made its
	// series' storage up front took 1,245.
	if per := (after.TotalAlloc - before.TotalAlloc) / routes; per > 512 {
		t.Errorf("a route's recorder took %d bytes before any request, want at most 512", per)
	}
	m.Route("ns/gw", "ns", names[0]).Record("GET", 200, time.Millisecond)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if got := strings.Count(body, "certgate_http_requests_total{"); got != 1 {
		t.Errorf("%d request series after one request, want 1:\n%s", got, body)
	}
}
