package dataplane_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// confusingPaths reach "/admin" on some common backend (IIS folds case and
// drops trailing dots and spaces, nginx merges slashes, Tomcat drops ";"
// parameters, C code stops at a NUL) while matching the open "/" rule as
// sent. cleanPaths match the open rule and read the same everywhere.
var (
	confusingPaths = []string{
		"/ADMIN", "/Admin/x", "/admin.", "/admin%20", "/admin%00",
		"//admin", "/public/..//admin", "/admin;x", "/admin;jsessionid=0/x",
	}
	cleanPaths = []string{"/", "/public/x", "/administrator", "/index.html"}
)

// recorder is a backend that records the request target of every request
// exactly as it arrives, and answers with a page chosen by page.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecorder(t *testing.T, page func(path string) string) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.RequestURI)
		rec.mu.Unlock()
		_, _ = w.Write([]byte(page(r.URL.Path)))
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

// caseFolding serves the admin page for any path that is "/admin" or under
// it in any case, as IIS does.
func caseFolding(path string) string {
	if p := strings.ToLower(path); p == "/admin" || strings.HasPrefix(p, "/admin/") {
		return "admin page"
	}
	return "public page"
}

func (rec *recorder) received() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.seen)
}

func (rec *recorder) weighted() snapshot.WeightedBackend {
	addr := rec.srv.Listener.Addr().(*net.TCPAddr)
	return snapshot.WeightedBackend{Weight: 1, Backend: snapshot.Backend{
		Name: "default/app:80", Namespace: "default", Service: "app", Port: 80,
		Endpoints: []snapshot.Endpoint{{Address: addr.IP.String(), Port: int32(addr.Port)}},
	}}
}

// confusionGateway serves route "shop": rule "admin" (PathPrefix /admin)
// under req, and an open rule "/", both to rec. It returns a client without
// a certificate and one with the pinned certificate.
func confusionGateway(t *testing.T, rec *recorder, req func(p *pki) *snapshot.Requirement) (g *gateway, anonymous, pinned *client) {
	t.Helper()
	g = newGateway(t)
	p := newPKI(t)
	port := freePort(t)
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("shop", nil,
		requireRule("/admin", req(p), rec.weighted()),
		prefixRule("/", rec.weighted()),
	)))
	return g, newClient(t, port, tlsClient(p.servingCA, nil)), newClient(t, port, tlsClient(p.servingCA, p.pinned))
}

func pinnedTo(p *pki) *snapshot.Requirement {
	return &snapshot.Requirement{Policy: "default/admins", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}
}

func TestConfusingPathsWithoutCertificateAreRefusedBeforeTheBackend(t *testing.T) {
	rec := newRecorder(t, caseFolding)
	g, anonymous, _ := confusionGateway(t, rec, pinnedTo)
	for i, path := range confusingPaths {
		res := anonymous.get("https://api.example.com" + path)
		if res.StatusCode != http.StatusForbidden || string(res.body) != forbiddenBody {
			t.Errorf("%s: status %d, body %q; want 403 %q", path, res.StatusCode, res.body, forbiddenBody)
		}
		if got := g.rejections("shop", "admin", "path_confusion", "enforce"); got != float64(i+1) {
			t.Errorf("%s: rejections{route=shop,rule=admin,reason=path_confusion} = %v, want %d", path, got, i+1)
		}
	}
	if seen := rec.received(); len(seen) != 0 {
		t.Errorf("the backend received %q, want nothing", seen)
	}
	if got := g.rejections("shop", "admin", "missing", "enforce"); got != 0 {
		t.Errorf("rejections{reason=missing} = %v: path confusion must be counted as path_confusion", got)
	}
	if !strings.Contains(g.log.String(), `"clientcert_rejection":"path_confusion"`) {
		t.Error("the access log lacks the path_confusion rejection")
	}
}

func TestConfusingPathsWithThePinnedCertificateReachTheBackend(t *testing.T) {
	rec := newRecorder(t, caseFolding)
	g, _, pinned := confusionGateway(t, rec, pinnedTo)
	for _, path := range confusingPaths {
		if res := pinned.get("https://api.example.com" + path); res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", path, res.StatusCode)
		}
	}
	// What the backend receives is the normalised path: "/public/..//admin"
	// arrives as "//admin", everything else as sent.
	want := slices.Clone(confusingPaths)
	want[slices.Index(want, "/public/..//admin")] = "//admin"
	if seen := rec.received(); !slices.Equal(seen, want) {
		t.Errorf("the backend received %q, want %q", seen, want)
	}
	if got := g.rejections("shop", "admin", "path_confusion", "enforce"); got != 0 {
		t.Errorf("rejections{reason=path_confusion} = %v, want 0", got)
	}
}

func TestCleanPathsToTheOpenRuleStillPassWithoutCertificate(t *testing.T) {
	rec := newRecorder(t, caseFolding)
	g, anonymous, _ := confusionGateway(t, rec, pinnedTo)
	for _, path := range cleanPaths {
		res := anonymous.get("https://api.example.com" + path)
		if res.StatusCode != http.StatusOK || string(res.body) != "public page" {
			t.Errorf("%s: status %d, body %q; want 200 public page", path, res.StatusCode, res.body)
		}
	}
	if seen := rec.received(); !slices.Equal(seen, cleanPaths) {
		t.Errorf("the backend received %q, want %q", seen, cleanPaths)
	}
	if got := g.rejections("shop", "admin", "path_confusion", "enforce"); got != 0 {
		t.Errorf("rejections{reason=path_confusion} = %v, want 0", got)
	}
}

func TestPinnedRuleReachedByItsOwnPathIsJudgedByItsOwnRequirement(t *testing.T) {
	rec := newRecorder(t, caseFolding)
	g, anonymous, pinned := confusionGateway(t, rec, pinnedTo)
	// "/admin/Reports" matches the admin rule as sent and folded alike.
	if res := pinned.get("https://api.example.com/admin/Reports"); res.StatusCode != http.StatusOK || string(res.body) != "admin page" {
		t.Errorf("pinned: status %d, body %q; want 200 admin page", res.StatusCode, res.body)
	}
	if res := anonymous.get("https://api.example.com/admin/Reports"); res.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous: status %d, want 403", res.StatusCode)
	}
	if got := g.rejections("shop", "admin", "missing", "enforce"); got != 1 {
		t.Errorf("rejections{reason=missing} = %v, want 1", got)
	}
	if got := g.rejections("shop", "admin", "path_confusion", "enforce"); got != 0 {
		t.Errorf("rejections{reason=path_confusion} = %v, want 0", got)
	}
}

func TestDisabledGuardForwardsConfusingPathsAsBefore(t *testing.T) {
	rec := newRecorder(t, caseFolding)
	g, anonymous, _ := confusionGateway(t, rec, func(p *pki) *snapshot.Requirement {
		r := pinnedTo(p)
		r.PathConfusionGuard = snapshot.GuardDisabled
		return r
	})
	for _, path := range confusingPaths {
		if res := anonymous.get("https://api.example.com" + path); res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", path, res.StatusCode)
		}
	}
	// The case-folding backend hands out the admin page: what the guard is
	// for, and what an owner who disables it vouches cannot happen.
	if res := anonymous.get("https://api.example.com/ADMIN"); string(res.body) != "admin page" {
		t.Errorf("/ADMIN on a case-folding backend: body %q, want the admin page", res.body)
	}
	if got := len(rec.received()); got != len(confusingPaths)+1 {
		t.Errorf("the backend received %d requests, want %d", got, len(confusingPaths)+1)
	}
	if got := g.rejections("shop", "admin", "path_confusion", "enforce"); got != 0 {
		t.Errorf("rejections{reason=path_confusion} = %v, want 0", got)
	}
}

func TestAuditPolicyCountsConfusingPathsWithoutRefusing(t *testing.T) {
	rec := newRecorder(t, caseFolding)
	g, anonymous, _ := confusionGateway(t, rec, func(p *pki) *snapshot.Requirement {
		r := pinnedTo(p)
		r.Mode = snapshot.ModeAudit
		return r
	})
	for _, path := range confusingPaths {
		if res := anonymous.get("https://api.example.com" + path); res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", path, res.StatusCode)
		}
	}
	if got := g.rejections("shop", "admin", "path_confusion", "audit"); got != float64(len(confusingPaths)) {
		t.Errorf("rejections{reason=path_confusion,mode=audit} = %v, want %d", got, len(confusingPaths))
	}
	if got := len(rec.received()); got != len(confusingPaths) {
		t.Errorf("the backend received %d requests, want %d", got, len(confusingPaths))
	}
}

func TestInvalidPolicyRefusesConfusingPathsEvenWithTheCertificate(t *testing.T) {
	rec := newRecorder(t, caseFolding)
	g, _, pinned := confusionGateway(t, rec, func(p *pki) *snapshot.Requirement {
		r := pinnedTo(p)
		r.Invalid = "ConfigMap default/admin-pins not found"
		r.PathConfusionGuard = snapshot.GuardDisabled
		return r
	})
	if res := pinned.get("https://api.example.com/ADMIN"); res.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403: an invalid policy keeps the guard and satisfies no one", res.StatusCode)
	}
	if res := pinned.get("https://api.example.com/public/x"); res.StatusCode != http.StatusOK {
		t.Errorf("clean open path: status %d, want 200", res.StatusCode)
	}
	if got := g.rejections("shop", "admin", "path_confusion", "enforce"); got != 1 {
		t.Errorf("rejections{reason=path_confusion} = %v, want 1", got)
	}
	if seen := rec.received(); !slices.Equal(seen, []string{"/public/x"}) {
		t.Errorf("the backend received %q, want only /public/x", seen)
	}
}

func TestPathConfusionSeriesExistAtZeroForEveryGuardedRule(t *testing.T) {
	rec := newRecorder(t, caseFolding)
	g, _, _ := confusionGateway(t, rec, pinnedTo)
	families, err := g.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var series []string
	for _, f := range families {
		if f.GetName() != "certgate_clientcert_rejections_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["reason"] == "path_confusion" {
				series = append(series, labels["route"]+"/"+labels["rule"]+"="+fmt.Sprint(m.GetCounter().GetValue()))
			}
		}
	}
	if !slices.Equal(series, []string{"shop/admin=0"}) {
		t.Errorf("path_confusion series %q, want [shop/admin=0]", series)
	}
}

// A certificate accepted by the rule a path matched is no pass to another
// rule: "/partner/ADMIN" matches "/partner" (partners' certificate), and
// an IIS backend serves it as "/partner/admin" (administrators' only).
func TestMatchedPinnedRuleDoesNotShieldAConfusingPathIntoAnother(t *testing.T) {
	rec := newRecorder(t, caseFolding)
	g := newGateway(t)
	p := newPKI(t)
	port := freePort(t)
	partners := &snapshot.Requirement{Policy: "default/partners", Pins: []pin.Pin{pinOf(p.unpinned, pin.SHA256)}}
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("shop", nil,
		requireRule("/partner/admin", pinnedTo(p), rec.weighted()),
		requireRule("/partner", partners, rec.weighted()),
	)))
	partner := newClient(t, port, tlsClient(p.servingCA, p.unpinned))
	if res := partner.get("https://api.example.com/partner/orders"); res.StatusCode != http.StatusOK {
		t.Fatalf("partner on its own rule: status %d, want 200", res.StatusCode)
	}
	if res := partner.get("https://api.example.com/partner/ADMIN"); res.StatusCode != http.StatusForbidden {
		t.Errorf("partner on /partner/ADMIN: status %d, want 403", res.StatusCode)
	}
	if got := g.rejections("shop", "partner/admin", "path_confusion", "enforce"); got != 1 {
		t.Errorf("rejections{rule=partner/admin,reason=path_confusion} = %v, want 1", got)
	}
	admin := newClient(t, port, tlsClient(p.servingCA, p.pinned))
	if res := admin.get("https://api.example.com/partner/ADMIN"); res.StatusCode != http.StatusForbidden {
		t.Errorf("administrator on /partner/ADMIN: status %d, want 403 from the partner rule it matched", res.StatusCode)
	}
	if got := g.rejections("shop", "partner", "pin_mismatch", "enforce"); got != 1 {
		t.Errorf("rejections{rule=partner,reason=pin_mismatch} = %v, want 1", got)
	}
	if seen := rec.received(); !slices.Equal(seen, []string{"/partner/orders"}) {
		t.Errorf("the backend received %q, want only /partner/orders", seen)
	}
}

// The guard is built again only when its routes change or move, and
// serves the same answers either way: an edit of another route, a route
// added before the guarded one (which moves it), and the guarded rule's
// requirement removed.
func TestGuardFollowsEditsThatMoveOrChangeItsRoutes(t *testing.T) {
	rec := newRecorder(t, caseFolding)
	g := newGateway(t)
	p := newPKI(t)
	port := freePort(t)
	shop := func(req *snapshot.Requirement) snapshot.Route {
		return route("shop", nil, requireRule("/admin", req, rec.weighted()), prefixRule("/", rec.weighted()))
	}
	apply := func(routes ...snapshot.Route) {
		g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, routes...))
	}
	anonymous := newClient(t, port, tlsClient(p.servingCA, nil))
	refused := 0
	expect := func(step string, status int) {
		t.Helper()
		res := anonymous.get("https://api.example.com/ADMIN")
		if res.StatusCode != status {
			t.Fatalf("%s: /ADMIN without a certificate: status %d, want %d", step, res.StatusCode, status)
		}
		if status == http.StatusForbidden {
			refused++
		}
		if got := g.rejections("shop", "admin", "path_confusion", "enforce"); got != float64(refused) {
			t.Fatalf("%s: rejections{route=shop,rule=admin,reason=path_confusion} = %v, want %d", step, got, refused)
		}
	}
	apply(shop(pinnedTo(p)), route("blog", nil, prefixRule("/blog", rec.weighted())))
	expect("first apply", http.StatusForbidden)
	apply(shop(pinnedTo(p)), route("blog", nil, prefixRule("/blog-2", rec.weighted())))
	expect("another route edited", http.StatusForbidden)
	apply(route("aaa", nil, prefixRule("/new", rec.weighted())), shop(pinnedTo(p)), route("blog", nil, prefixRule("/blog-2", rec.weighted())))
	expect("a route added before the guarded one", http.StatusForbidden)
	apply(route("aaa", nil, prefixRule("/new", rec.weighted())), shop(nil), route("blog", nil, prefixRule("/blog-2", rec.weighted())))
	expect("the requirement removed", http.StatusOK)
}
