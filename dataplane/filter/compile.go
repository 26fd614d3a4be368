package filter

import (
	"errors"
	"fmt"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// FieldError is one problem in a filter, with the path of the field at fault
// relative to the rule ("filters[2].requestRedirect.statusCode").
type FieldError struct {
	// Field is the path of the field, as in the HTTPRoute's JSON.
	Field string
	// Problem says what is wrong with it and, where it helps, what to do.
	Problem string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// problems collects every FieldError of a compilation, so one status update
// can report all of them instead of one per fix-and-retry cycle.
type problems []error

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

// unionFields maps each filter type to the JSON name of the field it uses;
// filterTypes lists them in a fixed order for deterministic errors.
var (
	unionFields = map[snapshot.FilterType]string{
		snapshot.FilterRequestHeaderModifier:  "requestHeaderModifier",
		snapshot.FilterResponseHeaderModifier: "responseHeaderModifier",
		snapshot.FilterRequestRedirect:        "requestRedirect",
		snapshot.FilterURLRewrite:             "urlRewrite",
		snapshot.FilterRequestMirror:          "requestMirror",
		snapshot.FilterCORS:                   "cors",
	}
	filterTypes = []snapshot.FilterType{
		snapshot.FilterRequestHeaderModifier, snapshot.FilterResponseHeaderModifier,
		snapshot.FilterRequestRedirect, snapshot.FilterURLRewrite,
		snapshot.FilterRequestMirror, snapshot.FilterCORS,
	}
	// exclusive pairs the kinds a rule may not combine: a rule either
	// redirects or forwards.
	exclusive = map[snapshot.FilterType]snapshot.FilterType{
		snapshot.FilterRequestRedirect: snapshot.FilterURLRewrite,
		snapshot.FilterURLRewrite:      snapshot.FilterRequestRedirect,
	}
)

// Compile checks filters and compiles them. The error joins one *FieldError
// per problem found; the rule is then unusable and the caller should report
// the error on the route's status.
func Compile(filters []snapshot.Filter) (*Chain, error) {
	c := &Chain{}
	var p problems
	first := map[snapshot.FilterType]int{}
	for i, f := range filters {
		field := fmt.Sprintf("filters[%d]", i)
		checkCombination(f.Type, i, first, &p)
		if checkUnion(f, field, &p) {
			c.add(f, field, &p)
		}
	}
	if len(p) > 0 {
		return nil, errors.Join(p...)
	}
	return c, nil
}

// add compiles one filter whose union field is known to be set.
func (c *Chain) add(f snapshot.Filter, field string, p *problems) {
	field += "." + unionFields[f.Type]
	switch f.Type {
	case snapshot.FilterRequestHeaderModifier:
		if m := compileHeaderModifier(f.RequestHeaderModifier, field, true, p); m != nil {
			c.request = append(c.request, m)
		}
	case snapshot.FilterResponseHeaderModifier:
		c.response = compileHeaderModifier(f.ResponseHeaderModifier, field, false, p)
	case snapshot.FilterURLRewrite:
		if rw := compileRewrite(f.URLRewrite, field, p); rw != nil {
			c.request = append(c.request, rw)
		}
	case snapshot.FilterRequestRedirect:
		c.redirect = compileRedirect(f.RequestRedirect, field, p)
	case snapshot.FilterRequestMirror:
		if m, ok := compileMirror(f.RequestMirror, field, p); ok {
			c.mirrors = append(c.mirrors, m)
		}
	case snapshot.FilterCORS:
		c.cors = compileCORS(f.CORS, field, p)
	}
}

// checkCombination enforces the Gateway API's CEL rules on a rule's filter
// list: every kind but RequestMirror at most once, and never a
// RequestRedirect with a URLRewrite. The API server enforces them too, but a
// snapshot can come from elsewhere (a file, a test).
func checkCombination(t snapshot.FilterType, i int, first map[snapshot.FilterType]int, p *problems) {
	if _, known := unionFields[t]; !known {
		return // checkUnion reports it
	}
	field := fmt.Sprintf("filters[%d].type", i)
	if j, dup := first[t]; dup && t != snapshot.FilterRequestMirror {
		p.add(field, "a second %s filter (the first is filters[%d]); a rule may have one", t, j)
		return
	}
	if _, seen := first[t]; !seen {
		first[t] = i
	}
	if other, ok := exclusive[t]; ok {
		if j, clash := first[other]; clash {
			p.add(field, "%s cannot be combined with the %s at filters[%d]: a rule either redirects or forwards", t, other, j)
		}
	}
}

// checkUnion reports whether exactly the field named by the filter's type is
// set, recording the problem when not.
func checkUnion(f snapshot.Filter, field string, p *problems) bool {
	name, known := unionFields[f.Type]
	if !known {
		p.add(field+".type", "%q is not a supported filter type (RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite, RequestMirror, CORS)", f.Type)
		return false
	}
	if !isSet(f, f.Type) {
		p.add(field+"."+name, "required when type is %s", f.Type)
		return false
	}
	ok := true
	for _, other := range filterTypes {
		if other != f.Type && isSet(f, other) {
			p.add(field+"."+unionFields[other], "must be unset when type is %s", f.Type)
			ok = false
		}
	}
	return ok
}

// isSet reports whether the union field of type t is set in f.
func isSet(f snapshot.Filter, t snapshot.FilterType) bool {
	switch t {
	case snapshot.FilterRequestHeaderModifier:
		return f.RequestHeaderModifier != nil
	case snapshot.FilterResponseHeaderModifier:
		return f.ResponseHeaderModifier != nil
	case snapshot.FilterRequestRedirect:
		return f.RequestRedirect != nil
	case snapshot.FilterURLRewrite:
		return f.URLRewrite != nil
	case snapshot.FilterRequestMirror:
		return f.RequestMirror != nil
	case snapshot.FilterCORS:
		return f.CORS != nil
	}
	return false
}
