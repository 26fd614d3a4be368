package router

import (
	"net/http"
	"regexp"
	"strings"
)

// valueCond is one header or query parameter match.
type valueCond struct {
	// name is canonical for headers, verbatim for query parameters.
	name string
	// value is compared exactly when re is nil.
	value string
	// re, when set, must match the whole value.
	re *regexp.Regexp
}

// headerCond is a header match with the rule for a repeated header.
type headerCond struct {
	valueCond
	// join separates the values of a repeated header when they are
	// compared as one, as RFC 9110 section 5.3 combines them: "," in
	// general, "; " for Cookie (RFC 9113 section 8.2.3 splits cookies
	// into several fields on HTTP/2). Empty means each value is compared
	// on its own and any may match: Set-Cookie values cannot be combined.
	join string
}

func newHeaderCond(c valueCond) headerCond {
	switch c.name {
	case "Set-Cookie":
		return headerCond{valueCond: c}
	case "Cookie":
		return headerCond{valueCond: c, join: "; "}
	}
	return headerCond{valueCond: c, join: ","}
}

// admits reports whether r meets every condition of e except the path,
// which the index has already compared (or, for a regex, compares after:
// these checks are cheaper).
func (e *entry) admits(r *Request) bool {
	c := e.cond
	if c == nil {
		return true
	}
	if c.method != "" && c.method != r.Method {
		return false
	}
	for i := range c.headers {
		if !c.headers[i].match(r.Header) {
			return false
		}
	}
	for i := range c.query {
		if !c.query[i].matchQuery(r.RawQuery) {
			return false
		}
	}
	return true
}

// match compares the header's values. A single value is compared as is;
// repeated values are compared joined, without building the joined string
// for an exact match. A regex over repeated values needs the joined
// string and allocates it.
func (c *headerCond) match(h http.Header) bool {
	vals := h[c.name]
	switch {
	case len(vals) == 0:
		return false
	case len(vals) == 1 || c.join == "":
		for _, v := range vals {
			if c.matchOne(v) {
				return true
			}
		}
		return false
	case c.re != nil:
		return c.re.MatchString(strings.Join(vals, c.join))
	}
	return equalJoined(vals, c.join, c.value)
}

func (c *valueCond) matchOne(v string) bool {
	if c.re != nil {
		return c.re.MatchString(v)
	}
	return v == c.value
}

// equalJoined reports whether want == strings.Join(vals, sep).
func equalJoined(vals []string, sep, want string) bool {
	for i, v := range vals {
		if i > 0 {
			var ok bool
			if want, ok = strings.CutPrefix(want, sep); !ok {
				return false
			}
		}
		var ok bool
		if want, ok = strings.CutPrefix(want, v); !ok {
			return false
		}
	}
	return want == ""
}

// matchQuery compares the first value of the parameter, as the spec
// recommends for a repeated parameter. A parameter without "=" has the
// empty value.
func (c *valueCond) matchQuery(rawQuery string) bool {
	v, ok := queryValue(rawQuery, c.name)
	if !ok {
		return false
	}
	if c.re == nil {
		return unescapedEqual(v, c.value)
	}
	decoded, ok := queryUnescape(v)
	return ok && c.re.MatchString(decoded)
}
