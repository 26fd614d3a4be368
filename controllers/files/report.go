package files

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/translator"
)

// Line is one status condition of one object, as standalone prints it.
type Line struct {
	// Text is the whole line:
	// "FILE: Kind ns/name [scope]: condition Type=Status Reason: message".
	Text string
	// Problem is true when the condition says something is wrong
	// (Accepted=False, Conflicted=True, ...) or the object got no status.
	Problem bool
}

// negative are condition types whose True is the bad value.
var negative = map[string]bool{
	string(gatewayv1.ListenerConditionConflicted):           true,
	string(gatewayv1.ListenerConditionOverlappingTLSConfig): true,
	string(gatewayv1.RouteConditionPartiallyInvalid):        true,
}

// informational are condition types that are neither good nor bad: they
// describe a choice the user made (AllowInsecureFallback).
var informational = map[string]bool{
	string(gatewayv1.GatewayConditionInsecureFrontendValidationMode): true,
}

// Lines turns a translation's status into lines, in the order of the
// status lists, and adds a problem line for every Gateway, route or
// policy of the directory that got no status at all: it reaches nothing
// certgate serves, and the line names the field to check.
func Lines(st *translator.Status, l *Loaded) []Line {
	var lines []Line
	seen := map[Key]bool{}
	eachPart(st, func(p part) {
		seen[p.key] = true
		for i := range p.conds {
			lines = append(lines, conditionLine(fileOf(l, p.key), &p, &p.conds[i]))
		}
	})
	var extra []Line
	for k, file := range l.Files {
		if _, ok := unservedWhy[k.Kind]; ok && !seen[k] {
			extra = append(extra, Line{Text: unservedLine(file, k), Problem: true})
		}
	}
	slices.SortFunc(extra, func(a, b Line) int { return strings.Compare(a.Text, b.Text) })
	return append(lines, extra...)
}

// Problems returns the lines of ls that are problems.
func Problems(ls []Line) []Line {
	var out []Line
	for _, l := range ls {
		if l.Problem {
			out = append(out, l)
		}
	}
	return out
}

// part is one block of an object's status: its own conditions, or those
// of one of its listeners, parents or ancestors. Each condition of a part
// is one line.
type part struct {
	key Key
	// index is the block's place in the object's status: a Gateway's own
	// conditions are 0 and its listeners 1 on; a route's parents and a
	// policy's ancestors count from 0.
	index int
	scope scope
	conds []metav1.Condition
}

// scope says which block of an object's status a line is about. It holds
// the pieces of its text rather than the text, so that comparing two
// reloads' scopes (see lineMemory) builds no string.
type scope struct {
	// label is "listener", "parentRef" or "ancestor"; empty for the
	// object's own conditions.
	label string
	// namespace, name and section are a reference's; a listener has only
	// a name.
	namespace, name, section string
	isRef, hasSection        bool
}

// String is the scope as lines show it: "listener https",
// "parentRef ns/name[/section]", or empty.
func (s scope) String() string {
	switch {
	case s.label == "":
		return ""
	case !s.isRef:
		return s.label + " " + s.name
	case s.hasSection:
		return s.label + " " + s.namespace + "/" + s.name + "/" + s.section
	}
	return s.label + " " + s.namespace + "/" + s.name
}

// refScope is the scope of a parent or ancestor reference; its namespace
// defaults to the object's.
func refScope(label string, ref *gatewayv1.ParentReference, defaultNS string) scope {
	s := scope{label: label, namespace: defaultNS, name: string(ref.Name), isRef: true}
	if ref.Namespace != nil {
		s.namespace = string(*ref.Namespace)
	}
	if ref.SectionName != nil {
		s.section, s.hasSection = string(*ref.SectionName), true
	}
	return s
}

// eachPart calls visit for every part of st, in the order of the status
// lists. Parts are passed by value: a part that a pointer is taken of
// lives on the heap, and writing one there takes the garbage collector's
// write barrier, which is on for much of an edit (at 10,000 routes, half
// of the time of visiting every part).
func eachPart(st *translator.Status, visit func(part)) {
	for _, s := range st.GatewayClasses {
		visit(part{key: Key{Kind: "GatewayClass", Name: s.Name}, conds: s.Status.Conditions})
	}
	for _, s := range st.Gateways {
		k := Key{"Gateway", s.Namespace, s.Name}
		visit(part{key: k, conds: s.Status.Conditions})
		for i := range s.Status.Listeners {
			ls := &s.Status.Listeners[i]
			visit(part{key: k, index: i + 1, scope: scope{label: "listener", name: string(ls.Name)}, conds: ls.Conditions})
		}
	}
	eachRoutePart("HTTPRoute", st.HTTPRoutes, visit)
	eachRoutePart("TLSRoute", st.TLSRoutes, visit)
	eachRoutePart("GRPCRoute", st.GRPCRoutes, visit)
	for _, s := range st.BackendTLSPolicies {
		eachAncestorPart(Key{"BackendTLSPolicy", s.Namespace, s.Name}, s.Status.Ancestors, visit)
	}
	for _, s := range st.ClientCertPolicies {
		eachAncestorPart(Key{"ClientCertPolicy", s.Namespace, s.Name}, s.Status.Ancestors, visit)
	}
}

// eachRoutePart visits one part per parent of each route of one kind.
func eachRoutePart(kind string, routes []translator.RouteStatus, visit func(part)) {
	for j := range routes {
		s := &routes[j]
		k := Key{kind, s.Namespace, s.Name}
		for i := range s.Status.Parents {
			ps := &s.Status.Parents[i]
			visit(part{key: k, index: i, scope: refScope("parentRef", &ps.ParentRef, s.Namespace), conds: ps.Conditions})
		}
	}
}

// eachAncestorPart visits one part per ancestor of a policy.
func eachAncestorPart(k Key, ancestors []gatewayv1.PolicyAncestorStatus, visit func(part)) {
	for i := range ancestors {
		a := &ancestors[i]
		visit(part{key: k, index: i, scope: refScope("ancestor", &a.AncestorRef, k.Namespace), conds: a.Conditions})
	}
}

// conditionLine is the line of one condition of part p, read from file.
func conditionLine(file string, p *part, c *metav1.Condition) Line {
	object := p.key.String()
	if sc := p.scope.String(); sc != "" {
		object += " " + sc
	}
	text := file + ": " + object + ": condition " + c.Type + "=" + string(c.Status) + " " + c.Reason + ": " + c.Message
	return Line{Text: text, Problem: isProblem(c)}
}

// isProblem says whether a condition says something is wrong.
func isProblem(c *metav1.Condition) bool {
	switch {
	case informational[c.Type]:
		return false
	case negative[c.Type]:
		return c.Status != metav1.ConditionFalse
	}
	return c.Status != metav1.ConditionTrue
}

// unservedLine is the problem line of an object of a kind that gets
// status when certgate serves it, but got none.
func unservedLine(file string, k Key) string {
	return file + ": " + k.String() + ": " + unservedWhy[k.Kind]
}

// fileOf is the file an object was read from.
func fileOf(l *Loaded, k Key) string {
	if f, ok := l.Files[k]; ok {
		return f
	}
	return "(synthesised)"
}

// unservedWhy says, per kind, why an object got no status and which
// field to check.
var unservedWhy = map[string]string{
	"Gateway":          "not served: spec.gatewayClassName names no GatewayClass of controller " + string(translator.ControllerName),
	"HTTPRoute":        "not attached: spec.parentRefs names no Gateway certgate serves",
	"TLSRoute":         "not attached: spec.parentRefs names no Gateway certgate serves",
	"GRPCRoute":        "not attached: spec.parentRefs names no Gateway certgate serves",
	"BackendTLSPolicy": "not in effect: spec.targetRefs reaches no Service used by a route certgate serves",
	"ClientCertPolicy": "not in effect: spec.targetRefs reaches no route or Gateway certgate serves",
}
