package files

import (
	"fmt"
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
	r := reporter{files: l.Files, seen: map[Key]bool{}}
	for _, s := range st.GatewayClasses {
		r.conditions(Key{Kind: "GatewayClass", Name: s.Name}, "", s.Status.Conditions)
	}
	for _, s := range st.Gateways {
		k := Key{"Gateway", s.Namespace, s.Name}
		r.conditions(k, "", s.Status.Conditions)
		for _, ls := range s.Status.Listeners {
			r.conditions(k, "listener "+string(ls.Name), ls.Conditions)
		}
	}
	for _, kind := range []struct {
		name   string
		routes []translator.RouteStatus
	}{{"HTTPRoute", st.HTTPRoutes}, {"TLSRoute", st.TLSRoutes}, {"GRPCRoute", st.GRPCRoutes}} {
		for _, s := range kind.routes {
			for _, p := range s.Status.Parents {
				r.conditions(Key{kind.name, s.Namespace, s.Name}, "parentRef "+refText(p.ParentRef, s.Namespace), p.Conditions)
			}
		}
	}
	for _, s := range st.BackendTLSPolicies {
		for _, a := range s.Status.Ancestors {
			r.conditions(Key{"BackendTLSPolicy", s.Namespace, s.Name}, "ancestor "+refText(a.AncestorRef, s.Namespace), a.Conditions)
		}
	}
	for _, s := range st.ClientCertPolicies {
		for _, a := range s.Status.Ancestors {
			r.conditions(Key{"ClientCertPolicy", s.Namespace, s.Name}, "ancestor "+refText(a.AncestorRef, s.Namespace), a.Conditions)
		}
	}
	r.unserved(l)
	return r.lines
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

type reporter struct {
	files map[Key]string
	seen  map[Key]bool
	lines []Line
}

func (r *reporter) conditions(k Key, scope string, conds []metav1.Condition) {
	r.seen[k] = true
	for _, c := range conds {
		bad := c.Status != metav1.ConditionTrue
		if negative[c.Type] {
			bad = c.Status != metav1.ConditionFalse
		}
		if informational[c.Type] {
			bad = false
		}
		text := fmt.Sprintf("%s: %s: condition %s=%s %s: %s", r.file(k), r.object(k, scope), c.Type, c.Status, c.Reason, c.Message)
		r.lines = append(r.lines, Line{Text: text, Problem: bad})
	}
}

// unserved adds a problem for every object of a kind that gets status
// when certgate serves it, but got none.
func (r *reporter) unserved(l *Loaded) {
	var extra []Line
	for k := range l.Files {
		if msg, ok := unservedWhy[k.Kind]; ok && !r.seen[k] {
			extra = append(extra, Line{Text: fmt.Sprintf("%s: %s: %s", r.file(k), k, msg), Problem: true})
		}
	}
	slices.SortFunc(extra, func(a, b Line) int { return strings.Compare(a.Text, b.Text) })
	r.lines = append(r.lines, extra...)
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

func (r *reporter) file(k Key) string {
	if f, ok := r.files[k]; ok {
		return f
	}
	return "(synthesised)"
}

func (r *reporter) object(k Key, scope string) string {
	if scope == "" {
		return k.String()
	}
	return k.String() + " " + scope
}

// refText is a parent or ancestor reference as "ns/name[/section]".
func refText(ref gatewayv1.ParentReference, defaultNS string) string {
	ns := defaultNS
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	s := ns + "/" + string(ref.Name)
	if ref.SectionName != nil {
		s += "/" + string(*ref.SectionName)
	}
	return s
}
