package metrics

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certgate/certgate/internal/buildinfo"
)

func TestRouteRecorderCountsCommonAndRareCodes(t *testing.T) {
	m := New()
	r := m.Route("ns/gw", "ns", "api")
	r.Record(200, time.Millisecond)
	r.Record(200, time.Millisecond)
	r.Record(418, time.Millisecond)
	if got := testutil.ToFloat64(m.HTTPRequests.WithLabelValues("ns/gw", "ns", "api", "200")); got != 2 {
		t.Errorf("200s = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.HTTPRequests.WithLabelValues("ns/gw", "ns", "api", "418")); got != 1 {
		t.Errorf("418s = %v, want 1", got)
	}
	if got := testutil.CollectAndCount(m.HTTPRequestDuration); got != 1 {
		t.Errorf("duration series = %d, want 1", got)
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

func TestServerServesTheRegistry(t *testing.T) {
	m := New()
	m.Route("ns/gw", "ns", "api").Record(403, time.Millisecond)
	rec := httptest.NewRecorder()
	m.Server("127.0.0.1:0").Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), `certgate_http_requests_total{code="403",gateway="ns/gw",namespace="ns",route="api"} 1`) {
		t.Errorf("/metrics lacks the request counter:\n%.2000s", body)
	}
}

func TestRetainDropsTheSeriesOfRemovedRoutes(t *testing.T) {
	m := New()
	m.Route("ns/gw", "ns", "kept").Record(200, time.Millisecond)
	m.Route("ns/gw", "ns", "removed").Record(200, time.Millisecond)
	m.ClientCertRejections.WithLabelValues("ns", "removed", "0", "missing", "enforce").Inc()
	m.Retain() // the first configuration is live

	m.Route("ns/gw", "ns", "kept") // the next configuration has only "kept"
	m.Retain()

	if n := testutil.CollectAndCount(m.HTTPRequests); n != len(commonCodes) {
		t.Errorf("request series = %d, want only the kept route's %d", n, len(commonCodes))
	}
	if n := testutil.CollectAndCount(m.ClientCertRejections); n != 0 {
		t.Errorf("rejection series of the removed route = %d, want 0", n)
	}
	if n := testutil.CollectAndCount(m.HTTPRequestDuration); n != 1 {
		t.Errorf("duration series = %d, want the kept route's only", n)
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
