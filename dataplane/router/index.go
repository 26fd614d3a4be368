package router

import (
	"slices"
	"strings"
)

// pathIndex holds the entries of the routes of one host name pattern,
// indexed by path so a lookup only looks at entries whose path could
// match. Every bucket is sorted by compareEntries, so the first entry in
// a bucket whose other conditions hold is the winner of that bucket.
type pathIndex struct {
	exact map[string][]*entry
	// regex is tried in order; an expression cannot be indexed.
	regex  []*entry
	prefix *prefixNode
}

// prefixNode is a node of a trie of path segments: the root stands for the
// prefix "/", its child "api" for "/api", and so on. Each level adds at
// least one character, so a deeper node is always a longer prefix.
type prefixNode struct {
	children map[string]*prefixNode
	entries  []*entry
	// up is the nearest ancestor with entries: after the deepest matching
	// node, the next candidates are there.
	up *prefixNode
}

func newPathIndex() *pathIndex {
	return &pathIndex{exact: map[string][]*entry{}, prefix: &prefixNode{}}
}

func (x *pathIndex) add(entries []*entry) {
	for _, e := range entries {
		switch e.kind {
		case exactPath:
			x.exact[e.pathKey] = append(x.exact[e.pathKey], e)
		case regexPath:
			x.regex = append(x.regex, e)
		case prefixPath:
			n := x.prefix.insert(e.pathKey)
			n.entries = append(n.entries, e)
		}
	}
}

// finish sorts every bucket and links the trie; the index is read-only
// afterwards.
func (x *pathIndex) finish() {
	for _, es := range x.exact {
		slices.SortStableFunc(es, compareEntries)
	}
	slices.SortStableFunc(x.regex, compareEntries)
	x.prefix.finish(nil)
}

// match returns the winning entry for r: exact paths, then regexes, then
// prefixes from the longest down, as the package documentation ranks them.
func (x *pathIndex) match(r *Request) *entry {
	if e := firstAdmitted(x.exact[r.Path], r); e != nil {
		return e
	}
	for _, e := range x.regex {
		if e.admits(r) && e.pathRE.MatchString(r.Path) {
			return e
		}
	}
	for n := x.prefix.longest(r.Path); n != nil; n = n.up {
		if e := firstAdmitted(n.entries, r); e != nil {
			return e
		}
	}
	return nil
}

func firstAdmitted(es []*entry, r *Request) *entry {
	for _, e := range es {
		if e.admits(r) {
			return e
		}
	}
	return nil
}

// insert returns the node for prefix, a normalised path without trailing
// slash, creating it and its ancestors as needed.
func (n *prefixNode) insert(prefix string) *prefixNode {
	if prefix == "/" {
		return n
	}
	for _, seg := range strings.Split(prefix[1:], "/") {
		child := n.children[seg]
		if child == nil {
			child = &prefixNode{}
			if n.children == nil {
				n.children = map[string]*prefixNode{}
			}
			n.children[seg] = child
		}
		n = child
	}
	return n
}

func (n *prefixNode) finish(up *prefixNode) {
	slices.SortStableFunc(n.entries, compareEntries)
	n.up = up
	if len(n.entries) > 0 {
		up = n
	}
	for _, c := range n.children {
		c.finish(up)
	}
}

// longest returns the node with entries for the longest prefix of path,
// compared element by element: "/foo" is a prefix of "/foo", "/foo/" and
// "/foo/bar", not of "/foobar". It returns nil when there is none.
func (n *prefixNode) longest(path string) *prefixNode {
	rest, ok := strings.CutPrefix(path, "/")
	for ok {
		var seg string
		seg, rest, ok = strings.Cut(rest, "/")
		child := n.children[seg]
		if child == nil {
			break
		}
		n = child
	}
	if len(n.entries) == 0 {
		return n.up
	}
	return n
}
