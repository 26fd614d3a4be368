package filter

import (
	"fmt"
	"net/http"
	"net/textproto"

	"github.com/certgate/certgate/dataplane/httphead"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// headerModifier is a compiled RequestHeaderModifier or
// ResponseHeaderModifier. Names are canonicalised once here, so applying it
// indexes the header map directly; net/http canonicalises every incoming
// header name the same way, which is what makes the names case-insensitive.
type headerModifier struct {
	set    []header
	add    []header
	remove []string
	// host is the value of a "set Host" entry of a request modifier: Go
	// sends Request.Host, not Header["Host"], so it needs its own slot.
	host    string
	setHost bool
}

// header is a canonical header name and a value.
type header struct{ name, value string }

// framing lists headers a modifier may not touch: they describe the message
// framing, which the proxy owns, and a wrong value corrupts the connection.
var framing = map[string]bool{"Content-Length": true, "Transfer-Encoding": true}

// compileHeaderModifier checks and compiles m. The Gateway API allows one
// action per header name (HTTPHeaderFilter), so a name that appears twice,
// in any list and in any case, is an error rather than a guess.
func compileHeaderModifier(m *snapshot.HeaderModifier, field string, request bool, p *problems) *headerModifier {
	out := &headerModifier{}
	c := headerChecker{field: field, request: request, p: p, seen: map[string]string{}}
	for i, h := range m.Set {
		if name, ok := c.check(fmt.Sprintf("set[%d]", i), h.Name, h.Value, "set"); ok {
			if request && name == "Host" {
				out.host, out.setHost = h.Value, true
				continue
			}
			out.set = append(out.set, header{name, h.Value})
		}
	}
	for i, h := range m.Add {
		if name, ok := c.check(fmt.Sprintf("add[%d]", i), h.Name, h.Value, "add"); ok {
			out.add = append(out.add, header{name, h.Value})
		}
	}
	for i, n := range m.Remove {
		if name, ok := c.check(fmt.Sprintf("remove[%d]", i), n, "", "remove"); ok {
			out.remove = append(out.remove, name)
		}
	}
	return out
}

// headerChecker validates the entries of one header modifier.
type headerChecker struct {
	field   string
	request bool
	p       *problems
	seen    map[string]string // canonical name -> entry that used it
}

// check validates one entry and returns its canonical name.
func (c headerChecker) check(entry, name, value, action string) (string, bool) {
	at := c.field + "." + entry
	if !httphead.IsToken(name) {
		c.p.add(at+".name", "%q is not a valid header name", name)
		return "", false
	}
	canon := textproto.CanonicalMIMEHeaderKey(name)
	if prev, dup := c.seen[canon]; dup {
		c.p.add(at+".name", "%s already has an action at %s; a header modifier allows one action per header name", name, prev)
		return "", false
	}
	c.seen[canon] = entry
	if badValue(value) {
		c.p.add(at+".value", "contains a control character")
		return "", false
	}
	if framing[canon] {
		c.p.add(at+".name", "%s is part of the message framing, which the proxy sets", canon)
		return "", false
	}
	if c.request && canon == "Host" && action != "set" {
		c.p.add(at+".name", "a request modifier can only set Host (or use urlRewrite.hostname), not %s it", action)
		return "", false
	}
	return canon, true
}

// apply runs the actions on h in the Gateway API's order: set, add, remove.
func (m *headerModifier) apply(h http.Header) {
	for _, s := range m.set {
		h[s.name] = []string{s.value}
	}
	for _, a := range m.add {
		h[a.name] = append(h[a.name], a.value)
	}
	for _, name := range m.remove {
		delete(h, name)
	}
}

// applyRequest implements requestStep.
func (m *headerModifier) applyRequest(out *http.Request, _ RequestInfo) {
	m.apply(out.Header)
	if m.setHost {
		out.Host = m.host
	}
}

// badValue reports whether v holds a control character other than tab; Go's
// transport would refuse to send such a header, failing every request.
func badValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// writes reports whether m sets or adds the canonical field name.
func (m *headerModifier) writes(name string) bool {
	for _, h := range m.set {
		if h.name == name {
			return true
		}
	}
	for _, h := range m.add {
		if h.name == name {
			return true
		}
	}
	return false
}
