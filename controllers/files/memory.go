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
// It is not safe for concurrent use; the Provider guards it.
type lineMemory struct {
	parts map[partKey]*remembered
	// printed counts the digests of the last reload's lines.
	printed map[uint64]uint32
	// gen numbers reloads: a part not visited in this one has vanished.
	gen uint64
}

// partKey names a part across reloads.
type partKey struct {
	key Key
	// index is the part's index, or unservedIndex for the problem line
	// of an object that got no status.
	index int
}

const unservedIndex = -1

// remembered is a part as the last reload saw it. conds are the slices
// of the last status, which the report keeps anyway: remembering them
// costs no copy.
type remembered struct {
	gen      uint64
	file     string
	scope    scope
	conds    []metav1.Condition
	problems []string
}

// reading is what one reload makes of the status: the lines to print, in
// order, the problems for /status, and the digests to add to and remove
// from printed once every line has been compared with the last reload's.
type reading struct {
	fresh, problems []string
	add, remove     []uint64
}

// update reads st and l against the last reload and remembers them. It
// returns the lines not among the last reload's, in the order Lines
// gives them, and every problem line (never nil, for /status).
func (m *lineMemory) update(st *translator.Status, l *Loaded) (fresh, problems []string) {
	if m.parts == nil {
		m.parts, m.printed = map[partKey]*remembered{}, map[uint64]uint32{}
	}
	m.gen++
	r := &reading{problems: []string{}}
	eachPart(st, func(p *part) { m.visit(r, p, fileOf(l, p.key)) })
	m.visitUnserved(r, l)
	m.forgetVanished(r)
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
func (m *lineMemory) visit(r *reading, p *part, file string) {
	k := partKey{p.key, p.index}
	old := m.parts[k]
	if old != nil && old.file == file && old.scope == p.scope && sameConditions(old.conds, p.conds) {
		// Follow the new status, so that the last one can be freed.
		old.gen, old.conds = m.gen, p.conds
		r.problems = append(r.problems, old.problems...)
		return
	}
	if old != nil {
		r.remove = old.appendDigests(r.remove, k)
	}
	now := &remembered{gen: m.gen, file: file, scope: p.scope, conds: p.conds}
	for i := range p.conds {
		line := conditionLine(file, p, &p.conds[i])
		if r.isFresh(m, line.Text) {
			r.fresh = append(r.fresh, line.Text)
		}
		if line.Problem {
			now.problems = append(now.problems, line.Text)
		}
	}
	r.problems = append(r.problems, now.problems...)
	m.parts[k] = now
}

// visitUnserved reads the problem line of every object of a kind that
// gets status when certgate serves it, but got none (see Lines). These
// lines come after all others, sorted.
func (m *lineMemory) visitUnserved(r *reading, l *Loaded) {
	var lines []unservedText
	for k, file := range l.Files {
		if _, ok := unservedWhy[k.Kind]; !ok || m.seen(k) {
			continue
		}
		pk := partKey{k, unservedIndex}
		old := m.parts[pk]
		if old != nil && old.file == file {
			old.gen = m.gen
			lines = append(lines, unservedText{text: old.problems[0]})
			continue
		}
		if old != nil {
			r.remove = old.appendDigests(r.remove, pk)
		}
		text := unservedLine(file, k)
		m.parts[pk] = &remembered{gen: m.gen, file: file, problems: []string{text}}
		lines = append(lines, unservedText{text: text, fresh: r.isFresh(m, text)})
	}
	slices.SortFunc(lines, func(a, b unservedText) int { return strings.Compare(a.text, b.text) })
	for _, u := range lines {
		if u.fresh {
			r.fresh = append(r.fresh, u.text)
		}
		r.problems = append(r.problems, u.text)
	}
}

type unservedText struct {
	text  string
	fresh bool
}

// seen says whether this reload's status has a part of object k.
func (m *lineMemory) seen(k Key) bool {
	first := m.parts[partKey{k, 0}]
	return first != nil && first.gen == m.gen
}

// forgetVanished forgets the parts this reload did not visit.
func (m *lineMemory) forgetVanished(r *reading) {
	for k, rm := range m.parts {
		if rm.gen != m.gen {
			r.remove = rm.appendDigests(r.remove, k)
			delete(m.parts, k)
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
func (rm *remembered) appendDigests(ds []uint64, k partKey) []uint64 {
	if k.index == unservedIndex {
		return append(ds, lineDigest(rm.problems[0]))
	}
	p := part{key: k.key, scope: rm.scope}
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
