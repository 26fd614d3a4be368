package files

import (
	"hash/maphash"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certgate/certgate/controllers/translator"
)

// lineMemory remembers the last reload's lines, so that a reload prints
// only the lines that are new and formats only the parts whose status
// changed. At 10,000 routes, formatting every line of every reload and
// keeping each line's text to compare with the next cost 13 MB of
// allocations per edit and 30,000 live strings; an edit of one route
// changes the lines of that route at most.
//
// A part is compared with its previous reading field by field (file,
// scope, and each condition's type, status, reason and message: all a
// line shows), so an unchanged part is known exactly, never by a hash.
// Only the question "was this text among the last reload's lines?" is
// answered by a 64-bit digest of the text (a multiset, as two parts may
// print the same line): a collision could at worst leave a new line
// unprinted; /status is built from the parts, never from digests.
//
// The parts of a reload come in the order of the status lists, which
// are sorted and keep their order between reloads: each part is compared
// with the part at its place in the last reload, so an edit that adds or
// removes no part looks nothing up by key (at 10,000 routes, looking up
// every part in a map keyed by kind, namespace and name was a sixth of an
// edit's work). Only a reload whose parts moved matches them by key. The
// file of a part is looked up only when the Loader says it may have
// changed (Loaded.moved), and the problem lines of objects that got no
// status are listed again only when the objects with status or the
// files changed.
//
// It is not safe for concurrent use; the Provider guards it.
type lineMemory struct {
	// parts are the last reload's parts, in the order eachPart visits
	// them. The memory owns them: nothing of them is handed out but
	// strings, so they are updated in place.
	parts []remembered
	// unserved are the last reload's problem lines of objects that got no
	// status, sorted by text.
	unserved []unserved
	// printed counts the digests of the last reload's lines.
	printed map[uint64]uint32
	// filesGen is the Loaded.gen of the last reload's files, 0 if none.
	filesGen uint64
}

// partKey names a part across reloads.
type partKey struct {
	key Key
	// index is the part's index (see part).
	index int
}

// remembered is a part as the last reload saw it. conds are the slices
// of the last status, which the report keeps anyway: remembering them
// costs no copy.
type remembered struct {
	partKey
	file     string
	scope    scope
	conds    []metav1.Condition
	problems []string
}

// unserved is the problem line of an object that got no status.
type unserved struct {
	key        Key
	file, text string
}

// reading is what one reload makes of the status: the lines to print, in
// order, the problems for /status, and the digests to add to and remove
// from printed once every line has been compared with the last reload's.
type reading struct {
	fresh, problems []string
	add, remove     []uint64
	st              *translator.Status
	l               *Loaded
	// knownFiles is true when the files of the last reload's parts are
	// this reload's too, but for the keys of l.moved.
	knownFiles bool
	// n counts the parts visited: m.parts before n are this reload's,
	// those from n on the last reload's not yet visited.
	n int
	// shifts counts the parts found or put in place by shift.
	shifts int
	// next are the parts once one did not come at its last place: from
	// then on, the parts are rebuilt, matched by key through byKey (the
	// index in the last parts of those not yet matched).
	next  []remembered
	byKey map[partKey]int
}

// update reads st and l against the last reload and remembers them. It
// returns the lines not among the last reload's, in the order Lines
// gives them, and every problem line (never nil, for /status).
func (m *lineMemory) update(st *translator.Status, l *Loaded) (fresh, problems []string) {
	if m.printed == nil {
		m.printed = map[uint64]uint32{}
	}
	r := &reading{problems: []string{}, st: st, l: l, knownFiles: l.since != 0 && l.since == m.filesGen}
	eachPart(st, func(p part) { m.visit(r, &p) })
	same := m.settle(r)
	m.visitUnserved(r, same && r.knownFiles && len(l.moved) == 0)
	m.filesGen = l.gen
	for _, d := range r.add {
		m.printed[d]++
	}
	for _, d := range r.remove {
		if m.printed[d]--; m.printed[d] == 0 {
			delete(m.printed, d)
		}
	}
	return r.fresh, r.problems
}

// visit compares one part with its last reading; only a changed or new
// part is formatted.
func (m *lineMemory) visit(r *reading, p *part) {
	k := partKey{p.key, p.index}
	i := r.n
	r.n++
	if r.next == nil && i < len(m.parts) && m.parts[i].partKey == k {
		m.refresh(r, &m.parts[i], p, true)
		return
	}
	if r.next == nil && r.shifts < maxShifts {
		r.shifts++
		known := m.shift(r, i, k)
		m.refresh(r, &m.parts[i], p, known)
		return
	}
	if r.next == nil {
		r.diverge(m.parts, i, countParts(r.st))
	}
	rm := remembered{partKey: k}
	j, known := r.byKey[k]
	if known {
		delete(r.byKey, k)
		rm = m.parts[j]
	}
	m.refresh(r, &rm, p, known)
	r.next = append(r.next, rm)
}

// A reload whose parts are not all at their last places (a route added
// or removed, a parent more or fewer) edits the last parts in place while
// few parts move: a part not at its place is looked for among the next
// lookahead parts (those before it are gone), else inserted. Past
// maxShifts of these, each of which moves the parts after it, the parts
// are rebuilt and matched by key (diverge). Rebuilding allocated all the
// parts again, 2 MB at 10,000 routes, for an edit that adds one.
const (
	lookahead = 64
	maxShifts = 8
)

// shift puts at i the last reload's part of key k, the parts before it
// being gone, or if it is not among the next lookahead, a new part of key
// k; it says whether the part is the last reload's. The parts from i on
// are still the last reload's (see reading.n).
func (m *lineMemory) shift(r *reading, i int, k partKey) bool {
	for j := i + 1; j < min(len(m.parts), i+1+lookahead); j++ {
		if m.parts[j].partKey == k {
			for g := i; g < j; g++ {
				r.remove = m.parts[g].appendDigests(r.remove)
			}
			m.parts = slices.Delete(m.parts, i, j)
			return true
		}
	}
	m.parts = slices.Insert(m.parts, i, remembered{partKey: k})
	return false
}

// diverge starts rebuilding the parts at the i-th, which is not where
// it was: the parts before it are kept, the others are found by key. The
// parts are made room for at once: grown by appending, the first
// reload's parts at 10,000 routes allocated 8 MB for 2.
func (r *reading) diverge(last []remembered, i, parts int) {
	r.next = make([]remembered, i, max(i+1, parts))
	copy(r.next, last[:i])
	r.byKey = make(map[partKey]int, len(last)-min(i, len(last)))
	for j := i; j < len(last); j++ {
		r.byKey[last[j].partKey] = j
	}
}

// refresh makes rm, the last reading of part p if known (else only its
// key), this reload's, formatting its lines only if they changed.
func (m *lineMemory) refresh(r *reading, rm *remembered, p *part, known bool) {
	file := r.fileOf(rm, known)
	if known && rm.file == file && rm.scope == p.scope && sameConditions(rm.conds, p.conds) {
		// Follow the new status, so that the last one can be freed.
		rm.conds = p.conds
		r.problems = append(r.problems, rm.problems...)
		return
	}
	if known {
		r.remove = rm.appendDigests(r.remove)
	}
	*rm = remembered{partKey: rm.partKey, file: file, scope: p.scope, conds: p.conds}
	for i := range p.conds {
		line := conditionLine(file, p, &p.conds[i])
		if r.isFresh(m, line.Text) {
			r.fresh = append(r.fresh, line.Text)
		}
		if line.Problem {
			rm.problems = append(rm.problems, line.Text)
		}
	}
	r.problems = append(r.problems, rm.problems...)
}

// fileOf is the file of the object of rm, which the last reload read
// from rm.file if known.
func (r *reading) fileOf(rm *remembered, known bool) string {
	if known && r.knownFiles {
		if _, ok := r.l.moved[rm.key]; !ok {
			return rm.file
		}
	}
	return fileOf(r.l, rm.key)
}

// countParts counts the parts of st (see eachPart).
func countParts(st *translator.Status) int {
	n := len(st.GatewayClasses)
	for i := range st.Gateways {
		n += 1 + len(st.Gateways[i].Status.Listeners)
	}
	for _, routes := range [][]translator.RouteStatus{st.HTTPRoutes, st.TLSRoutes, st.GRPCRoutes} {
		for i := range routes {
			n += len(routes[i].Status.Parents)
		}
	}
	for i := range st.BackendTLSPolicies {
		n += len(st.BackendTLSPolicies[i].Status.Ancestors)
	}
	for i := range st.ClientCertPolicies {
		n += len(st.ClientCertPolicies[i].Status.Ancestors)
	}
	return n
}

// settle makes this reload's parts the remembered ones and forgets the
// digests of the last reload's parts it did not visit. It returns true
// when the parts are those of the last reload, in the same places.
func (m *lineMemory) settle(r *reading) bool {
	if r.next == nil {
		gone := m.parts[r.n:]
		for i := range gone {
			r.remove = gone[i].appendDigests(r.remove)
		}
		clear(gone) // hold no status of the last reload
		m.parts = m.parts[:r.n]
		return len(gone) == 0 && r.shifts == 0
	}
	for _, j := range r.byKey {
		r.remove = m.parts[j].appendDigests(r.remove)
	}
	m.parts = r.next
	return false
}

// visitUnserved reads the problem line of every object of a kind that
// gets status when certgate serves it, but got none (see Lines). These
// lines come after all others, sorted. When the objects with status and
// their files are the last reload's, so are these lines.
func (m *lineMemory) visitUnserved(r *reading, same bool) {
	if !same {
		m.listUnserved(r)
	}
	for _, u := range m.unserved {
		r.problems = append(r.problems, u.text)
	}
}

// listUnserved lists the objects that got no status again, printing the
// lines the last reload did not have.
func (m *lineMemory) listUnserved(r *reading) {
	seen := make(map[Key]bool, len(m.parts))
	for i := range m.parts {
		seen[m.parts[i].key] = true
	}
	last := make(map[Key]unserved, len(m.unserved))
	for _, u := range m.unserved {
		last[u.key] = u
	}
	type listed struct {
		unserved
		kept bool // the same line as the last reload's of its object
	}
	var now []listed
	for k, file := range r.l.Files {
		if _, ok := unservedWhy[k.Kind]; !ok || seen[k] {
			continue
		}
		if old, ok := last[k]; ok && old.file == file {
			delete(last, k)
			now = append(now, listed{old, true})
			continue
		}
		now = append(now, listed{unserved{key: k, file: file, text: unservedLine(file, k)}, false})
	}
	for _, old := range last {
		r.remove = append(r.remove, lineDigest(old.text))
	}
	slices.SortFunc(now, func(a, b listed) int { return strings.Compare(a.text, b.text) })
	m.unserved = make([]unserved, len(now))
	for i, u := range now {
		m.unserved[i] = u.unserved
		// A line kept is among the last reload's, counted in printed.
		if !u.kept && r.isFresh(m, u.text) {
			r.fresh = append(r.fresh, u.text)
		}
	}
}

// isFresh counts text as a line of this reload and says whether the last
// reload did not have it.
func (r *reading) isFresh(m *lineMemory, text string) bool {
	d := lineDigest(text)
	r.add = append(r.add, d)
	return m.printed[d] == 0
}

// appendDigests appends the digests of the lines this part printed, the
// lines being formatted again from what it remembers: keeping a digest
// per line would cost memory for what only a changed part needs.
func (rm *remembered) appendDigests(ds []uint64) []uint64 {
	p := part{key: rm.key, scope: rm.scope}
	for i := range rm.conds {
		ds = append(ds, lineDigest(conditionLine(rm.file, &p, &rm.conds[i]).Text))
	}
	return ds
}

// lineDigest is the digest of a line's text.
func lineDigest(text string) uint64 { return maphash.String(seed, text) }

// sameConditions says whether two condition lists print the same lines.
func sameConditions(a, b []metav1.Condition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message {
			return false
		}
	}
	return true
}
