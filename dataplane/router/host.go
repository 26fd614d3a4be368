package router

import (
	"fmt"
	"maps"
	"strings"
)

// HostEntry pairs a host name pattern with the value a HostIndex returns
// for hosts it matches.
type HostEntry[T any] struct {
	// Pattern is an exact host ("foo.example.com"), a wildcard
	// ("*.example.com") or "" for any host. Case and one trailing dot are
	// ignored.
	Pattern string
	// Value is what Lookup returns for a host this pattern matches best.
	Value T
}

// HostIndex finds the most specific value for a host name: an exact
// pattern, then the wildcard with the longest suffix, then the catch-all.
// A wildcard "*.example.com" matches one or more labels in front of
// example.com, but not example.com itself, as Gateway API says.
//
// A HostIndex is immutable once built and safe for concurrent Lookups.
type HostIndex[T any] struct {
	exact map[string]T
	// wildcard is keyed by the suffix after "*.": "example.com".
	wildcard map[string]T
	any      T
	hasAny   bool
}

// NewHostIndex builds an index from entries. A malformed pattern (a "*"
// other than a leading "*." label) or a pattern given twice is an error.
func NewHostIndex[T any](entries []HostEntry[T]) (*HostIndex[T], error) {
	h := &HostIndex[T]{exact: map[string]T{}, wildcard: map[string]T{}}
	for i, e := range entries {
		if err := h.add(e); err != nil {
			return nil, fmt.Errorf("hosts[%d] %q: %w", i, e.Pattern, err)
		}
	}
	return h, nil
}

func (h *HostIndex[T]) add(e HostEntry[T]) error {
	p := canonicalHost(e.Pattern)
	target, key := h.exact, p
	switch {
	case p == "":
		if h.hasAny {
			return fmt.Errorf("catch-all given twice")
		}
		h.any, h.hasAny = e.Value, true
		return nil
	case strings.HasPrefix(p, "*."):
		target, key = h.wildcard, p[2:]
	}
	if err := checkHostPattern(p); err != nil {
		return err
	}
	if _, dup := target[key]; dup {
		return fmt.Errorf("pattern given twice")
	}
	target[key] = e.Value
	return nil
}

// checkHostPattern rejects a canonical pattern with a "*" anywhere but a
// leading "*." label, or with an empty label after it.
func checkHostPattern(p string) error {
	rest := strings.TrimPrefix(p, "*.")
	if rest == "" || strings.Contains(rest, "*") || strings.HasPrefix(rest, ".") {
		return fmt.Errorf("a \"*\" may only be a leading \"*.\" label followed by a domain")
	}
	return nil
}

// Lookup returns the value of the most specific pattern matching host, a
// host name without port. It allocates only when host has uppercase
// letters.
func (h *HostIndex[T]) Lookup(host string) (T, bool) {
	host = canonicalHost(host)
	if v, ok := h.exact[host]; ok {
		return v, true
	}
	if len(h.wildcard) > 0 {
		// Scanning from the left tries the longest suffix first; i > 0
		// keeps the label a wildcard stands for non-empty.
		for i := 1; i < len(host); i++ {
			if host[i] != '.' {
				continue
			}
			if v, ok := h.wildcard[host[i+1:]]; ok {
				return v, true
			}
		}
	}
	return h.any, h.hasAny
}

// HostOf returns the host of a Host header or :authority ("Example.com:8443",
// "[::1]:80"), without port or brackets, in the canonical form Lookup and
// Table.Match compare: lowercase, without a trailing dot. It allocates only
// when the host has uppercase letters.
func HostOf(hostport string) string {
	host := hostport
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return canonicalHost(host)
}

// canonicalHost lowercases host and drops one trailing dot (the root label
// of a fully qualified name), copying only when there is uppercase.
func canonicalHost(host string) string {
	host = strings.TrimSuffix(host, ".")
	for i := 0; i < len(host); i++ {
		if c := host[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(host)
		}
	}
	return host
}

// wildcardCovers lists the suffixes of the wildcards that cover pattern
// p, longest first. "a.b.example.com" and "*.b.example.com" are both
// covered by "*.example.com" and "*.com", so both yield "example.com",
// "com"; the first adds "*.b.example.com" ("b.example.com").
func wildcardCovers(p string) []string {
	base := strings.TrimPrefix(p, "*.")
	var out []string
	for i := 1; i+1 < len(base); i++ {
		if base[i] == '.' {
			out = append(out, base[i+1:])
		}
	}
	return out
}

// pattern returns the value given for pattern p itself, canonical, as
// opposed to Lookup's most specific pattern matching a host.
func (h *HostIndex[T]) pattern(p string) (T, bool) {
	switch {
	case p == "":
		return h.any, h.hasAny
	case strings.HasPrefix(p, "*."):
		v, ok := h.wildcard[p[2:]]
		return v, ok
	}
	v, ok := h.exact[p]
	return v, ok
}

// empty reports whether h has no pattern at all.
func (h *HostIndex[T]) empty() bool {
	return len(h.exact) == 0 && len(h.wildcard) == 0 && !h.hasAny
}

// clone returns a copy of h whose exact patterns may be changed without
// changing h's. The copy shares the wildcards and the catch-all.
func (h *HostIndex[T]) clone() *HostIndex[T] {
	c := *h
	c.exact = maps.Clone(h.exact)
	return &c
}
