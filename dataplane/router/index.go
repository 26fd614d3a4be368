package router

import (
	"slices"
	"strings"
)

// smallIndex is the most path buckets (exact paths and prefixes) a path
// index compares one by one. Most host names have a route or two with a
// prefix or two: a few string comparisons find their entries faster than
// a map and a trie, which also cost a host several allocations.
const smallIndex = 8

// pathIndex holds the entries of the routes of one host name pattern,
// indexed by path so a lookup only looks at entries whose path could
// match. Every bucket is sorted by compareEntries, so the first entry in
// a bucket whose other conditions hold is the winner of that bucket.
type pathIndex struct {
	// routes are the routes whose entries the index holds, in route
	// order. A later table reuses the index for a host with the same
	// routes (CompileFrom).
	routes []*compiledRoute
	// entries are every entry of routes, by compareEntries: buckets and
	// the regular expressions are runs of it.
	entries []*entry
	// buckets holds, when the index is small, the exact paths (the first
	// exacts of them), then the prefixes, longest first.
	buckets []bucket
	// large is set instead of buckets when there are more than smallIndex.
	large  *largeIndex
	exacts int32
	// regex is tried in order; an expression cannot be indexed.
	regex span
}

// span is a run of pathIndex.entries.
type span struct{ lo, hi int32 }

// bucket is the entries of one exact path or prefix, best first.
type bucket struct {
	key string
	span
}

// largeIndex finds exact paths in a map and prefixes in a trie.
type largeIndex struct {
	exact  map[string][]*entry
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

// newPathIndex indexes the entries of routes, given in route order. The
// index is read-only once built.
func newPathIndex(routes []*compiledRoute) *pathIndex {
	all := sortedEntries(routes)
	x := &pathIndex{routes: routes, entries: all}
	buckets := make([]bucket, 0, countBuckets(all))
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && sameBucket(all[i], all[j]) {
			j++
		}
		run := span{int32(i), int32(j)}
		switch all[i].kind {
		case regexPath:
			x.regex = run
		case exactPath:
			x.exacts++
			fallthrough
		default:
			buckets = append(buckets, bucket{key: all[i].pathKey, span: run})
		}
		i = j
	}
	if len(buckets) <= smallIndex {
		x.buckets = buckets
		return x
	}
	x.large = newLargeIndex(all, buckets[:x.exacts], buckets[x.exacts:])
	x.exacts = 0
	return x
}

// sortedEntries is every entry of routes in one array, by compareEntries;
// buckets are runs of it.
func sortedEntries(routes []*compiledRoute) []*entry {
	n := 0
	for _, u := range routes {
		n += len(u.entries)
	}
	all := make([]*entry, 0, n)
	for _, u := range routes {
		for k := range u.entries {
			all = append(all, &u.entries[k])
		}
	}
	slices.SortStableFunc(all, compareEntries)
	return all
}

// sameBucket reports whether two entries sorted next to each other share
// a bucket: one exact path, one prefix, or the regular expressions.
func sameBucket(a, b *entry) bool {
	return a.kind == b.kind && (a.kind == regexPath || a.pathKey == b.pathKey)
}

func countBuckets(all []*entry) int {
	n := 0
	for i, e := range all {
		if e.kind != regexPath && (i == 0 || !sameBucket(all[i-1], e)) {
			n++
		}
	}
	return n
}

func newLargeIndex(all []*entry, exact, prefix []bucket) *largeIndex {
	l := &largeIndex{exact: make(map[string][]*entry, len(exact)), prefix: &prefixNode{}}
	for _, b := range exact {
		l.exact[b.key] = b.of(all)
	}
	for _, b := range prefix {
		l.prefix.insert(b.key).entries = b.of(all)
	}
	l.prefix.link(nil)
	return l
}

// of returns the run s of entries.
func (s span) of(entries []*entry) []*entry {
	return entries[s.lo:s.hi:s.hi]
}

// match returns the winning entry for r: exact paths, then regexes, then
// prefixes from the longest down, as the package documentation ranks them.
func (x *pathIndex) match(r *Request) *entry {
	if x.large != nil {
		return x.large.match(r, x.regex.of(x.entries))
	}
	for i := range x.buckets[:x.exacts] {
		if b := &x.buckets[i]; b.key == r.Path {
			if e := firstAdmitted(b.of(x.entries), r); e != nil {
				return e
			}
			break
		}
	}
	if e := matchRegex(x.regex.of(x.entries), r); e != nil {
		return e
	}
	for i := int(x.exacts); i < len(x.buckets); i++ {
		if b := &x.buckets[i]; hasPathPrefix(r.Path, b.key) {
			if e := firstAdmitted(b.of(x.entries), r); e != nil {
				return e
			}
		}
	}
	return nil
}

func (l *largeIndex) match(r *Request, regex []*entry) *entry {
	if e := firstAdmitted(l.exact[r.Path], r); e != nil {
		return e
	}
	if e := matchRegex(regex, r); e != nil {
		return e
	}
	for n := l.prefix.longest(r.Path); n != nil; n = n.up {
		if e := firstAdmitted(n.entries, r); e != nil {
			return e
		}
	}
	return nil
}

func matchRegex(regex []*entry, r *Request) *entry {
	for _, e := range regex {
		if e.admits(r) && e.cond.pathRE.MatchString(r.Path) {
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

// hasPathPrefix reports whether prefix, a normalised path without
// trailing slash, is a prefix of path element by element, as the trie
// compares: "/foo" is a prefix of "/foo", "/foo/" and "/foo/bar", not of
// "/foobar".
func hasPathPrefix(path, prefix string) bool {
	if prefix == "/" {
		return true
	}
	return strings.HasPrefix(path, prefix) && (len(path) == len(prefix) || path[len(prefix)] == '/')
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

// link sets every node's up; the trie is read-only afterwards.
func (n *prefixNode) link(up *prefixNode) {
	n.up = up
	if len(n.entries) > 0 {
		up = n
	}
	for _, c := range n.children {
		c.link(up)
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
