package files

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/translator"
)

// wholeReprint is what standalone printed before lineMemory: every line
// of every reload formatted with Lines, and those not among the last
// reload's printed. lineMemory must print exactly the same.
type wholeReprint struct{ last map[string]bool }

func (w *wholeReprint) update(st *translator.Status, l *Loaded) (fresh, problems []string) {
	now := map[string]bool{}
	problems = []string{}
	for _, line := range Lines(st, l) {
		now[line.Text] = true
		if !w.last[line.Text] {
			fresh = append(fresh, line.Text)
		}
		if line.Problem {
			problems = append(problems, line.Text)
		}
	}
	w.last = now
	return fresh, problems
}

func cond(typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg}
}

// route is the status of HTTPRoute ns/name with one part per parent.
func route(name string, parents ...gatewayv1.RouteParentStatus) translator.RouteStatus {
	s := translator.RouteStatus{NamespacedName: types.NamespacedName{Namespace: "ns", Name: name}}
	s.Status.Parents = parents
	return s
}

func parent(gw string, port int32, conds ...metav1.Condition) gatewayv1.RouteParentStatus {
	ns := gatewayv1.Namespace("ns")
	return gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Namespace: &ns, Name: gatewayv1.ObjectName(gw), Port: &port}, Conditions: conds}
}

var (
	accepted   = cond("Accepted", metav1.ConditionTrue, "Accepted", "ok")
	resolved   = cond("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs", "ok")
	unresolved = cond("ResolvedRefs", metav1.ConditionFalse, "BackendNotFound", "backendRefs[0]: Service ns/x not found")
)

func withMessage(c metav1.Condition, msg string) metav1.Condition {
	c.Message = msg
	return c
}

// listenersOfStep gives the Gateway two listeners whose conditions change
// every third step, and a third listener every other step.
func listenersOfStep(i int) []gatewayv1.ListenerStatus {
	conflicted := cond("Conflicted", metav1.ConditionFalse, "NoConflicts", "none")
	if i%3 == 1 {
		conflicted = cond("Conflicted", metav1.ConditionTrue, "HostnameConflict", "listener http on the same port")
	}
	ls := []gatewayv1.ListenerStatus{
		{Name: "https", Conditions: []metav1.Condition{accepted, conflicted}},
		{Name: "http", Conditions: []metav1.Condition{accepted, conflicted}},
	}
	if i%2 == 1 {
		ls = append(ls, gatewayv1.ListenerStatus{Name: "extra", Conditions: []metav1.Condition{accepted}})
	}
	return ls
}

// policiesOfStep gives the policy ns/pin an ancestor from the fourth
// step on (it is unserved before), with a section from the sixth.
func policiesOfStep(i int) []translator.ClientCertPolicyStatus {
	if i < 3 {
		return nil
	}
	p := translator.ClientCertPolicyStatus{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "pin"}}
	ref := gatewayv1.ParentReference{Name: "a"}
	if i >= 5 {
		section := gatewayv1.SectionName("")
		ref.SectionName = &section
	}
	p.Status.Ancestors = []gatewayv1.PolicyAncestorStatus{{AncestorRef: ref, Conditions: []metav1.Condition{accepted}}}
	return []translator.ClientCertPolicyStatus{p}
}

// reloadStep is one reload: the routes' statuses and their files.
type reloadStep struct {
	name   string
	routes []translator.RouteStatus
	files  map[Key]string
}

func routeFiles(names ...string) map[Key]string {
	files := map[Key]string{{"Gateway", "ns", "gw"}: "gw.yaml"}
	for _, n := range names {
		file, name, _ := strings.Cut(n, ":")
		files[Key{"HTTPRoute", "ns", name}] = file
	}
	return files
}

// TestLineMemoryPrintsWhatReprintingEverythingPrinted drives lineMemory
// and the whole reprint through the same reloads: unchanged, a condition
// that changes its status, then only its message, an object moved to another file, a parent
// added and removed, two parents that print the same lines (two ports of
// one Gateway), a route that loses its status and gets it back, listeners
// and a policy's ancestor that change on their own steps. Every
// reload must print the same lines in the same order and report the same
// problems.
func TestLineMemoryPrintsWhatReprintingEverythingPrinted(t *testing.T) {
	steps := []reloadStep{
		{"first", []translator.RouteStatus{route("a", parent("gw", 80, accepted, resolved)), route("b", parent("gw", 80, accepted, resolved))}, routeFiles("r.yaml:a", "r.yaml:b", "r.yaml:orphan")},
		{"unchanged", []translator.RouteStatus{route("a", parent("gw", 80, accepted, resolved)), route("b", parent("gw", 80, accepted, resolved))}, routeFiles("r.yaml:a", "r.yaml:b", "r.yaml:orphan")},
		{"condition text changes", []translator.RouteStatus{route("a", parent("gw", 80, accepted, unresolved)), route("b", parent("gw", 80, accepted, resolved))}, routeFiles("r.yaml:a", "r.yaml:b", "r.yaml:orphan")},
		{"only the message changes", []translator.RouteStatus{route("a", parent("gw", 80, accepted, withMessage(unresolved, "backendRefs[0]: Service ns/y not found"))), route("b", parent("gw", 80, accepted, resolved))}, routeFiles("r.yaml:a", "r.yaml:b", "r.yaml:orphan")},
		{"changed back", []translator.RouteStatus{route("a", parent("gw", 80, accepted, resolved)), route("b", parent("gw", 80, accepted, resolved))}, routeFiles("r.yaml:a", "r.yaml:b", "r.yaml:orphan")},
		{"moved to another file", []translator.RouteStatus{route("a", parent("gw", 80, accepted, resolved)), route("b", parent("gw", 80, accepted, resolved))}, routeFiles("s.yaml:a", "r.yaml:b", "s.yaml:orphan")},
		{"second parent printing the same lines", []translator.RouteStatus{route("a", parent("gw", 80, accepted, resolved), parent("gw", 81, accepted, unresolved)), route("b", parent("gw", 80, accepted, resolved))}, routeFiles("s.yaml:a", "r.yaml:b", "s.yaml:orphan")},
		{"parents swap", []translator.RouteStatus{route("a", parent("gw", 81, accepted, unresolved), parent("gw", 80, accepted, resolved)), route("b", parent("gw", 80, accepted, resolved))}, routeFiles("s.yaml:a", "r.yaml:b", "s.yaml:orphan")},
		{"loses its status", []translator.RouteStatus{route("a", parent("gw", 80, accepted, resolved))}, routeFiles("s.yaml:a", "r.yaml:b", "s.yaml:orphan")},
		{"gets it back, the orphan is removed", []translator.RouteStatus{route("a", parent("gw", 80, accepted, resolved)), route("b", parent("gw", 80, accepted, resolved))}, routeFiles("s.yaml:a", "r.yaml:b")},
		{"the orphan comes back", []translator.RouteStatus{route("a", parent("gw", 80, accepted, resolved)), route("b", parent("gw", 80, accepted, resolved))}, routeFiles("s.yaml:a", "r.yaml:b", "s.yaml:orphan")},
	}
	var memory lineMemory
	var whole wholeReprint
	for i, s := range steps {
		st := &translator.Status{HTTPRoutes: s.routes, Gateways: []translator.GatewayStatus{{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "gw"}}}}
		st.Gateways[0].Status.Conditions = []metav1.Condition{accepted}
		st.Gateways[0].Status.Listeners = listenersOfStep(i)
		st.ClientCertPolicies = policiesOfStep(i)
		l := &Loaded{Files: s.files}
		l.Files[Key{"ClientCertPolicy", "ns", "pin"}] = "policy.yaml"
		gotFresh, gotProblems := memory.update(st, l)
		wantFresh, wantProblems := whole.update(st, l)
		visited := 0
		eachPart(st, func(part) { visited++ })
		if n := countParts(st); n != visited {
			t.Errorf("%s: counts %d parts, visits %d", s.name, n, visited)
		}
		if !slices.Equal(gotFresh, wantFresh) {
			t.Errorf("%s: printed\n%s\nwant\n%s", s.name, strings.Join(gotFresh, "\n"), strings.Join(wantFresh, "\n"))
		}
		if !slices.Equal(gotProblems, wantProblems) || gotProblems == nil {
			t.Errorf("%s: problems\n%q\nwant\n%q", s.name, gotProblems, wantProblems)
		}
	}
	if len(memory.printed) != len(whole.last) {
		t.Errorf("remembers %d line digests, the last reload had %d lines", len(memory.printed), len(whole.last))
	}
}

// loaderRoute is an HTTPRoute whose status (see statusOfLoad) has one
// parent when it names one, with the route's hostname in its message.
const loaderRoute = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: %s
spec:
  hostnames: [%s]
%s`

const loaderParent = "  parentRefs:\n  - name: gw\n"

// numbered is n routes named prefix00, prefix01... with a parent but
// every third one.
func numbered(prefix string, n int) []string {
	var rs []string
	for i := range n {
		r := fmt.Sprintf("%s%02d=%s%02d.test", prefix, i, prefix, i)
		if i%3 == 2 {
			r = "-" + r
		}
		rs = append(rs, r)
	}
	return rs
}

// statusOfLoad is a status of the routes of l, sorted as the translator
// sorts them: a route with a parentRef gets one part whose message is
// its first hostname, a route without one gets no status.
func statusOfLoad(l *Loaded) *translator.Status {
	st := &translator.Status{}
	for _, r := range l.Resources.HTTPRoutes {
		if len(r.Spec.ParentRefs) == 0 {
			continue
		}
		ns := gatewayv1.Namespace(r.Namespace)
		ps := gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Namespace: &ns, Name: "gw"}}
		ps.Conditions = []metav1.Condition{accepted, cond("ResolvedRefs", metav1.ConditionFalse, "Host", string(r.Spec.Hostnames[0]))}
		rs := translator.RouteStatus{NamespacedName: types.NamespacedName{Namespace: r.Namespace, Name: r.Name}}
		rs.Status.Parents = []gatewayv1.RouteParentStatus{ps}
		st.HTTPRoutes = append(st.HTTPRoutes, rs)
	}
	return st
}

// TestLineMemoryOfALoaderPrintsWhatReprintingEverythingPrinted drives
// lineMemory with the readings of one Loader, whose files it takes from
// the last reload but for those the Loader says moved: routes edited in
// place, moved to another file, added, removed, losing and getting back
// their parent, a file renamed, and a reload whose load failed.
func TestLineMemoryOfALoaderPrintsWhatReprintingEverythingPrinted(t *testing.T) {
	dir := t.TempDir()
	routes := func(file string, rs ...string) {
		var docs []string
		for _, r := range rs {
			name, host, _ := strings.Cut(r, "=")
			parent := loaderParent
			if strings.HasPrefix(name, "-") {
				name, parent = name[1:], ""
			}
			docs = append(docs, fmt.Sprintf(loaderRoute, name, host, parent))
		}
		write(t, dir, file, strings.Join(docs, "---\n"))
	}
	remove := func(file string) {
		if err := os.Remove(filepath.Join(dir, file)); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name   string
		change func()
	}{
		{"first", func() { routes("a.yaml", "a=a.test", "b=b.test", "-c=c.test"); routes("b.yaml", "d=d.test") }},
		{"unchanged", func() {}},
		{"edited in place", func() { routes("a.yaml", "a=a2.test", "b=b.test", "-c=c.test") }},
		{"moved to another file", func() { routes("a.yaml", "a=a2.test", "-c=c.test"); routes("b.yaml", "b=b.test", "d=d.test") }},
		{"an unserved route moved", func() { routes("a.yaml", "a=a2.test"); routes("b.yaml", "b=b.test", "-c=c.test", "d=d.test") }},
		{"added", func() { routes("c.yaml", "aa=aa.test", "e=e.test") }},
		{"removed", func() { routes("c.yaml", "e=e.test") }},
		{"loses its parent", func() { routes("b.yaml", "-b=b.test", "-c=c.test", "d=d.test") }},
		{"gets it back", func() { routes("b.yaml", "b=b.test", "-c=c.test", "d=d.test") }},
		{"file renamed", func() { remove("b.yaml"); routes("z.yaml", "b=b.test", "-c=c.test", "d=d.test") }},
		{"does not load", func() { write(t, dir, "bad.yaml", "kind: [") }},
		{"edited as it loads again", func() { remove("bad.yaml"); routes("a.yaml", "a=a3.test") }},
		{"edited again", func() { routes("a.yaml", "a=a4.test") }},
		{"more added before the others than are shifted, one after them gone", func() {
			routes("0.yaml", numbered("0r", 12)...)
			routes("z.yaml", "b=b.test", "-c=c.test")
		}},
		{"removed again", func() { remove("0.yaml") }},
		{"more added among the others than are looked ahead", func() { routes("c.yaml", append(numbered("c", 70), "e=e.test")...) }},
		{"one edited among them", func() { routes("c.yaml", append(numbered("c", 70), "e=e2.test")...) }},
		{"removed but the last", func() { routes("c.yaml", "e=e2.test") }},
	}
	var loader Loader
	var memory lineMemory
	var whole wholeReprint
	for _, s := range steps {
		s.change()
		l, err := loader.Load(dir)
		if err != nil {
			continue
		}
		st := statusOfLoad(l)
		gotFresh, gotProblems := memory.update(st, l)
		wantFresh, wantProblems := whole.update(st, l)
		if !slices.Equal(gotFresh, wantFresh) {
			t.Errorf("%s: printed\n%s\nwant\n%s", s.name, strings.Join(gotFresh, "\n"), strings.Join(wantFresh, "\n"))
		}
		if !slices.Equal(gotProblems, wantProblems) {
			t.Errorf("%s: problems\n%q\nwant\n%q", s.name, gotProblems, wantProblems)
		}
		if len(memory.printed) != len(whole.last) {
			t.Errorf("%s: remembers %d line digests, the reload had %d lines", s.name, len(memory.printed), len(whole.last))
		}
	}
}
