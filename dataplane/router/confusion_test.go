package router

import (
	"strings"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// confusingPaths are request paths that reach "/admin" on some common
// backend while matching something else at the gateway.
var confusingPaths = []string{
	"/ADMIN", "/Admin/x", "/admin.", "/admin%20", "/admin%00",
	"//admin", "/public/..//admin", "/admin;x", "/admin;jsessionid=0/x",
}

func TestFoldPathReadsPathsAsBackendsDo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/", "/"},
		{"/admin", "/admin"},
		{"/ADMIN", "/admin"},
		{"/Admin/X", "/admin/x"},
		{"/admin.", "/admin"},
		{"/admin...", "/admin"},
		{"/admin%20", "/admin"},
		{"/admin.%20.", "/admin"},
		{"/admin%00", "/admin"},
		{"/admin%00/../public", "/admin"},
		{"//admin", "/admin"},
		{"/admin//x///", "/admin/x/"},
		{"/admin;x", "/admin"},
		{"/admin;jsessionid=0/x", "/admin/x"},
		{"/;x/admin", "/admin"},
		{"/admin/", "/admin/"},
		{"/admin/...", "/admin/"},
		{"/public/..%20/admin", "/admin"},
		{"/public/.%20/admin", "/public/admin"},
		{"/caf%C3%A9/A", "/caf%C3%A9/a"},
		{"/a%3Bb", "/a%3Bb"},
	} {
		if got := FoldPath(tc.in); got != tc.want {
			t.Errorf("FoldPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNeedsFoldIsFalseOnlyForPathsFoldingLeavesAlone(t *testing.T) {
	clean := []string{"/", "/admin", "/admin/", "/api/v1/items/7", "/caf%C3%A9", "/a.b/c", "/%2A", "/a%20b"}
	for _, p := range clean {
		if needsFold(p) {
			t.Errorf("needsFold(%q) = true, want false", p)
		}
		if got := FoldPath(p); got != p {
			t.Errorf("FoldPath(%q) = %q: a path needsFold passes must fold to itself", p, got)
		}
	}
	for _, p := range append(confusingPaths, "/a./b", "/a%20/b", "/x/%00") {
		n, err := NormalizePath(p)
		if err != nil {
			t.Fatalf("NormalizePath(%q): %v", p, err)
		}
		if !needsFold(n) {
			t.Errorf("needsFold(%q) = false, want true", n)
		}
	}
}

// guardTable is a listener with an open "/" rule (route 0) and a guarded
// "/admin" prefix (route 1).
func guardTable(t *testing.T, extra ...snapshot.Route) (*Table, *Guard) {
	t.Helper()
	routes := append([]snapshot.Route{
		rt("shop/open", 0, nil, rule(prefix("/"))),
		rt("shop/admin", 1, nil, rule(prefix("/admin"))),
	}, extra...)
	table, err := Compile(routes)
	if err != nil {
		t.Fatal(err)
	}
	g, err := CompileGuard(routes, func(route, _ int) bool { return route != 0 })
	if err != nil {
		t.Fatal(err)
	}
	return table, g
}

func TestGuardFindsTheGuardedRuleBehindEachConfusingPath(t *testing.T) {
	table, g := guardTable(t)
	for _, p := range confusingPaths {
		n, err := NormalizePath(p)
		if err != nil {
			t.Fatalf("NormalizePath(%q): %v", p, err)
		}
		r := req("h", n)
		if m, _ := table.Match(r); m.RouteIndex != 0 {
			t.Fatalf("%q matched route %d as sent; the test expects the open route", p, m.RouteIndex)
		}
		got, ok := g.Match(r)
		if !ok || got.RouteIndex != 1 {
			t.Errorf("Guard.Match(%q) = %+v, %v; want the guarded route 1", n, got, ok)
		}
	}
}

func TestGuardIgnoresCleanAndUnrelatedPaths(t *testing.T) {
	_, g := guardTable(t)
	for _, p := range []string{"/", "/public/x", "/administrator", "/Public/X", "/public;x", "/adminx."} {
		if got, ok := g.Match(req("h", p)); ok {
			t.Errorf("Guard.Match(%q) = %+v, want no guarded rule", p, got)
		}
	}
}

func TestGuardMatchesUpperCaseRouteValuesFromLowerCasePaths(t *testing.T) {
	routes := []snapshot.Route{
		rt("shop/open", 0, nil, rule(prefix("/"))),
		rt("shop/admin", 1, nil, rule(exact("/Admin"))),
	}
	g, err := CompileGuard(routes, func(route, _ int) bool { return route == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := g.Match(req("h", "/admin")); !ok || got.RouteIndex != 1 {
		t.Errorf("Guard.Match(/admin) = %+v, %v; want route 1, whose value /Admin a case-insensitive backend serves for /admin", got, ok)
	}
}

func TestGuardMatchesRegularExpressionsCaseInsensitivelyOnTheFoldedPath(t *testing.T) {
	routes := []snapshot.Route{
		rt("shop/open", 0, nil, rule(prefix("/"))),
		rt("shop/reports", 1, nil, rule(regex("/Reports/[0-9]+"))),
	}
	g, err := CompileGuard(routes, func(route, _ int) bool { return route == 1 })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/reports/7", "/REPORTS/7;x", "//reports/7."} {
		if got, ok := g.Match(req("h", p)); !ok || got.RouteIndex != 1 {
			t.Errorf("Guard.Match(%q) = %+v, %v; want route 1", p, got, ok)
		}
	}
}

func TestGuardKeepsHostMethodAndHeaderConditions(t *testing.T) {
	_, g := guardTable(t, rt("shop/ops", 2, hosts("ops.example.com"),
		rule(with(prefix("/ops"), method("POST"), header("X-Ops", "1")))))
	post := func(host string, hdrs ...string) *Request {
		return withMethod(req(host, "/OPS", hdrs...), "POST")
	}
	if _, ok := g.Match(post("ops.example.com", "X-Ops", "1")); !ok {
		t.Error("a confusing path meeting every other condition must select the guarded rule")
	}
	for name, r := range map[string]*Request{
		"other host":     post("www.example.com", "X-Ops", "1"),
		"other method":   req("ops.example.com", "/OPS", "X-Ops", "1"),
		"missing header": post("ops.example.com"),
	} {
		if got, ok := g.Match(r); ok {
			t.Errorf("%s: Guard.Match = %+v, want no guarded rule", name, got)
		}
	}
}

func TestGuardIsNilWithoutGuardedRules(t *testing.T) {
	routes := []snapshot.Route{rt("shop/open", 0, nil, rule(prefix("/")))}
	g, err := CompileGuard(routes, func(int, int) bool { return false })
	if err != nil || g != nil {
		t.Fatalf("CompileGuard = %v, %v; want nil, nil", g, err)
	}
	if _, ok := g.Match(req("h", "/ADMIN")); ok {
		t.Error("a nil guard must match nothing")
	}
}

func TestGuardMatchDoesNotAllocateOnACleanPath(t *testing.T) {
	_, g := guardTable(t)
	r := req("h", "/public/items/7")
	if n := testing.AllocsPerRun(100, func() { g.Match(r) }); n != 0 {
		t.Errorf("Guard.Match on a clean path allocates %v times, want 0", n)
	}
}

// FuzzFoldPath checks what the guard relies on: a normal path that
// needsFold passes folds to itself (so skipping the fold loses nothing),
// and a folded path is itself clean, so folding is idempotent.
func FuzzFoldPath(f *testing.F) {
	for _, s := range append(confusingPaths, "/", "/a/..%20/b", "/A%20./%41b;c//", "/x%00y", "/caf%c3%a9") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := NormalizePath(in)
		if err != nil {
			return
		}
		folded := FoldPath(n)
		if !needsFold(n) && folded != n {
			t.Fatalf("needsFold(%q) = false, but it folds to %q", n, folded)
		}
		if needsFold(folded) {
			t.Fatalf("%q folds to %q, which needsFold still flags", n, folded)
		}
		if !strings.HasPrefix(folded, "/") {
			t.Fatalf("%q folds to %q, which does not start with /", n, folded)
		}
	})
}
