// Package files is the file provider of certgate standalone: it reads a
// directory of Gateway API YAML into resources.Resources, watches it for
// changes, and reports the status the controller would write as one line
// per problem, naming the file, the object and the field.
//
//	Load ──► pipeline.Runner (translate, apply) ──► Lines (status report)
//	  ▲                                              lineMemory (only new lines)
//	Watch (poll) ──► pipeline.Debouncer
package files

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/controllers/translator"
)

// ClassName is the GatewayClass standalone makes up when the directory
// holds none: a Gateway with gatewayClassName "certgate" is then served
// without a GatewayClass object. A directory that has any GatewayClass
// gets no made-up one, exactly as in a cluster.
const ClassName = "certgate"

// DefaultNamespace is the namespace of a namespaced object whose file
// gives none, as kubectl would apply it.
const DefaultNamespace = "default"

// Key names one object: its kind, namespace and name.
type Key struct {
	Kind, Namespace, Name string
}

// String is "Kind ns/name", or "Kind name" for cluster-scoped objects.
func (k Key) String() string {
	if k.Namespace == "" {
		return k.Kind + " " + k.Name
	}
	return k.Kind + " " + k.Namespace + "/" + k.Name
}

// Loaded is one reading of a configuration directory.
type Loaded struct {
	// Resources holds every object, sorted. Its lists may be those of a
	// Loader's next Load too (see Loader.last): they must not be written;
	// replace a list by a copy to change it.
	Resources *resources.Resources
	// Files maps each object to the file it was read from (base name).
	// A Loader's next Load updates it in place: read it before.
	Files map[Key]string
	// Synthesised is true when the directory has no GatewayClass and the
	// ClassName class was made up.
	Synthesised bool

	// gen numbers this reading among the process's successful Loads (1
	// on). since is the gen of the reading whose Files this one updated
	// in place, and moved the keys whose file differs from that reading's
	// (added, gone, or read from another file): a reader that remembers
	// that reading's files need look up only these (see lineMemory).
	// since is 0 when Files were built anew: then any file may differ.
	gen, since uint64
	moved      map[Key]struct{}
}

// loads numbers the successful Loads of the process (Loaded.gen): unique
// across Loaders, so a reading is never taken for another Loader's.
var loads atomic.Uint64

// Load reads every *.yaml and *.yml file directly in dir (not in
// subdirectories; names starting with "." are skipped, so editor swap
// files and Kubernetes volume bookkeeping are ignored). It fails whole if
// any file does not decode, so that a half-written change never replaces
// a working one; the error names every such file and line (errors.Join,
// one error per file), so one run shows everything to fix.
func Load(dir string) (*Loaded, error) {
	return (&Loader{}).Load(dir)
}

// Loader reads a configuration directory as Load does, but decodes only
// the files whose content changed since its previous read: decoding YAML
// is most of the cost of a reload, and an edit usually touches one file
// of many. A file's objects are reused while the digest of its content
// (see digester) is unchanged; they are shared between reads and must
// not be modified (resources says so for every source). The zero Loader
// is ready; it is not safe for concurrent use.
type Loader struct {
	files  map[string]decodedFile
	digest digester
	// owners is the Files of the last Load, when it succeeded; the next
	// Load updates it (see assemble). ownersGen is that Load's gen.
	owners    map[Key]string
	ownersGen uint64
	// last is the sorted Resources of the last Load, when it succeeded,
	// the synthetic class left out. Its lists are shared: that Load handed
	// them out, and the next one hands out those it does not change (see
	// swapIn). Nobody writes them (Loaded.Resources says so).
	last *resources.Resources
	// class is the synthetic GatewayClass, one object for every load: the
	// translator takes the rules of unchanged routes only while every
	// other object is the same one (translator/reuse.go).
	class *gatewayv1.GatewayClass
}

// decodedFile is one file's objects, namespaces defaulted, and the
// digest of the content they were decoded from.
type decodedFile struct {
	sum  uint64
	objs []client.Object
	// docs are the digests of the documents objs were decoded from, one
	// per object.
	docs []uint64
}

// Load reads dir; see the package function Load.
func (c *Loader) Load(dir string) (*Loaded, error) {
	names, err := yamlFiles(dir)
	if err != nil {
		return nil, err
	}
	next, decodeErrs := c.decodeAll(dir, names)
	l, sorted, errs := c.assemble(names, next, decodeErrs)
	c.files = next
	if len(errs) > 0 {
		c.owners, c.last = nil, nil
		return nil, errors.Join(errs...)
	}
	l.gen = loads.Add(1)
	c.owners, c.ownersGen = l.Files, l.gen
	if !sorted {
		l.Resources.Sort()
	}
	last := *l.Resources
	c.last = &last
	if len(l.Resources.GatewayClasses) == 0 {
		// Alone in its list, which stays sorted; a list of its own, as
		// the empty one may be shared (see Loader.last).
		l.Synthesised = true
		if c.class == nil {
			c.class = syntheticClass()
		}
		l.Resources.GatewayClasses = []*gatewayv1.GatewayClass{c.class}
	}
	return l, nil
}

// decodeAll decodes the files names (see decode). It returns nil errors
// when every file decodes, else one error per name, nil for those that
// decode.
func (c *Loader) decodeAll(dir string, names []string) (map[string]decodedFile, []error) {
	next := make(map[string]decodedFile, len(names))
	var errs []error
	in := interner{}
	for i, name := range names {
		f, err := c.decode(dir, name, in)
		if err != nil {
			if errs == nil {
				errs = make([]error, len(names))
			}
			errs[i] = err
			continue
		}
		next[name] = f
	}
	return next, errs
}

// assemble puts the decoded files together. When the last Load succeeded
// and every file decodes, the map of objects to files it returned is
// updated for the files that changed: at 10,000 routes, rebuilding it
// allocated 2 MB per reload for an edit of one file. Anything unusual (an
// object defined twice, a kind resources refuses) takes the whole
// rebuild, which names every error in file order. sorted is true when
// the Resources are sorted already.
func (c *Loader) assemble(names []string, next map[string]decodedFile, decodeErrs []error) (l *Loaded, sorted bool, errs []error) {
	if decodeErrs == nil && c.owners != nil {
		if moved, ok := c.updateOwners(names, next); ok {
			l := &Loaded{Files: c.owners, since: c.ownersGen, moved: moved}
			if l.Resources = c.inSortedOrder(next); l.Resources != nil {
				return l, true, nil
			}
			l.Resources = &resources.Resources{}
			if l.addResources(names, next) {
				return l, false, nil
			}
		}
	}
	l, errs = rebuild(names, next, decodeErrs)
	return l, false, errs
}

// inSortedOrder returns the Resources of the last Load with each object
// of a changed file in place of the object of its key, so that they are
// sorted already: at 5,000 routes, sorting every route by name again was
// a tenth of an edit's work, and adding every object to lists grown one
// by one allocated them twice over. A list without a replaced object is
// the last Load's (see Loader.last). It returns nil when the files do not
// hold the objects of the same keys as before (one came or went).
func (c *Loader) inSortedOrder(next map[string]decodedFile) *resources.Resources {
	if c.last == nil || len(next) != len(c.files) {
		return nil
	}
	var fresh []client.Object
	replaced := 0
	for name, old := range c.files {
		f, ok := next[name]
		if !ok {
			return nil
		}
		if f.sum != old.sum {
			fresh, replaced = appendChanged(fresh, replaced, old.objs, f.objs)
		}
	}
	// updateOwners refused a key twice: the fresh keys are distinct and
	// none is of an unchanged file, nor of an object kept at its place.
	// Each one found in the last lists is then the key of a replaced
	// object; as many as those are all of them.
	if len(fresh) != replaced {
		return nil
	}
	res := *c.last
	found := 0
	if !swapIn(&res.GatewayClasses, fresh, &found) || !swapIn(&res.Gateways, fresh, &found) ||
		!swapIn(&res.HTTPRoutes, fresh, &found) || !swapIn(&res.TLSRoutes, fresh, &found) ||
		!swapIn(&res.GRPCRoutes, fresh, &found) || !swapIn(&res.ReferenceGrants, fresh, &found) ||
		!swapIn(&res.BackendTLSPolicies, fresh, &found) || !swapIn(&res.ClientCertPolicies, fresh, &found) ||
		!swapIn(&res.Services, fresh, &found) || !swapIn(&res.EndpointSlices, fresh, &found) ||
		!swapIn(&res.Secrets, fresh, &found) || !swapIn(&res.ConfigMaps, fresh, &found) ||
		!swapIn(&res.Namespaces, fresh, &found) || found != len(fresh) {
		return nil
	}
	return &res
}

// appendChanged appends to fresh the objects of a changed file that are
// not the object its last reading had at their place, and counts in
// replaced the objects of old that are not: an edit of one object of a
// file of a hundred replaces one.
func appendChanged(fresh []client.Object, replaced int, old, objs []client.Object) ([]client.Object, int) {
	for i, o := range objs {
		if i >= len(old) || old[i] != o {
			fresh = append(fresh, o)
		}
	}
	for i, o := range old {
		if i >= len(objs) || objs[i] != o {
			replaced++
		}
	}
	return fresh, replaced
}

// swapIn puts each object of fresh of type T in place of the object of
// its namespace and name in *objs, sorted as resources sorts it, counting
// them in found. The list is copied before its first change: the last
// Load handed it out. It returns false when one is not in the list.
func swapIn[T client.Object](objs *[]T, fresh []client.Object, found *int) bool {
	copied := false
	for _, o := range fresh {
		t, ok := o.(T)
		if !ok {
			continue
		}
		i, ok := slices.BinarySearchFunc(*objs, t, byNamespaceName[T])
		if !ok {
			return false
		}
		*found++
		if client.Object((*objs)[i]) == o {
			continue
		}
		if !copied {
			*objs, copied = slices.Clone(*objs), true
		}
		(*objs)[i] = t
	}
	return true
}

// byNamespaceName is the order of resources.Resources.Sort.
func byNamespaceName[T client.Object](a, b T) int {
	return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
}

// updateOwners moves c.owners from c.files to next: the objects of a file
// that changed or went away are forgotten, those of a file that changed
// or came are added; a changed file that holds the objects of the same
// keys in the same order keeps them (an edit of an object in place). It
// returns the keys whose file is not the one it was (see Loaded.moved),
// or false when an added object is already owned, leaving c.owners to be
// rebuilt.
func (c *Loader) updateOwners(names []string, next map[string]decodedFile) (map[Key]struct{}, bool) {
	was := map[Key]string{}
	for name, old := range c.files {
		if f, ok := next[name]; ok && (f.sum == old.sum || sameKeys(old.objs, f.objs)) {
			continue
		}
		for _, obj := range old.objs {
			if k := KeyOf(obj); c.owners[k] == name {
				was[k] = name
				delete(c.owners, k)
			}
		}
	}
	moved := map[Key]struct{}{}
	for _, name := range names {
		f := next[name]
		if old, ok := c.files[name]; ok && (old.sum == f.sum || sameKeys(old.objs, f.objs)) {
			continue
		}
		for _, obj := range f.objs {
			k := KeyOf(obj)
			if _, dup := c.owners[k]; dup {
				return nil, false
			}
			c.owners[k] = name
			if was[k] != name {
				moved[k] = struct{}{}
			}
		}
	}
	for k, name := range was {
		if c.owners[k] != name {
			moved[k] = struct{}{}
		}
	}
	return moved, true
}

// sameKeys says whether two readings of a file hold objects of the same
// keys in the same order; an object kept from the last is its own key.
func sameKeys(old, objs []client.Object) bool {
	if len(old) != len(objs) {
		return false
	}
	for i, o := range objs {
		if o != old[i] && KeyOf(o) != KeyOf(old[i]) {
			return false
		}
	}
	return true
}

// addResources adds the objects of every file to l.Resources, in file
// order; false if resources refuses one.
func (l *Loaded) addResources(names []string, files map[string]decodedFile) bool {
	for _, name := range names {
		for _, obj := range files[name].objs {
			if l.Resources.Add(obj) != nil {
				return false
			}
		}
	}
	return true
}

// rebuild puts the decoded files together from nothing: each object is
// added and its file recorded, and every error is named, one per file,
// in file order (decodeErrs, as decodeAll returns them).
func rebuild(names []string, next map[string]decodedFile, decodeErrs []error) (*Loaded, []error) {
	l := &Loaded{Resources: &resources.Resources{}, Files: map[Key]string{}}
	var errs []error
	for i, name := range names {
		var err error
		if decodeErrs != nil && decodeErrs[i] != nil {
			err = decodeErrs[i]
		} else {
			err = l.addObjects(name, next[name].objs)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return l, errs
}

// loadErrors splits an error of Load into one error per file.
func loadErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// yamlFiles lists the YAML files of dir, sorted by name.
func yamlFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read configuration directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || e.IsDir() {
			continue
		}
		if ext := filepath.Ext(n); ext == ".yaml" || ext == ".yml" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// decode returns the objects of one file, decoding it only when its
// content is not the one decoded last time. An unchanged file is only
// streamed through the digester; a changed one is then read whole, and
// the digest kept is that of the bytes decoded, so a write between the
// two reads is seen by the next Load.
func (c *Loader) decode(dir, name string, in interner) (decodedFile, error) {
	path := filepath.Join(dir, name)
	sum, err := c.digest.file(path)
	if err != nil {
		return decodedFile{}, err
	}
	if f, ok := c.files[name]; ok && f.sum == sum {
		return f, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return decodedFile{}, err
	}
	sum = c.digest.bytes(data)
	f, err := c.decodeDocuments(name, data, c.files[name], in)
	if err != nil {
		return decodedFile{}, err
	}
	keepUnchanged(c.files[name].objs, f.objs)
	f.sum = sum
	return f, nil
}

// decodeDocuments decodes the documents of a changed file, taking the
// object old has for a document whose text is unchanged (the same digest)
// rather than decoding it again: an edit of one route of a file of a
// hundred decodes one document, not a hundred. The objects it decodes
// get their namespace defaulted and their strings the copies of in,
// before any is kept: the objects kept from an earlier Load are never
// written to.
//
// A document's digest stands for its text as a file's does for its
// content (see digester), and for the same reason: keeping the text of
// every document to compare would hold a second copy of the directory.
// An identical document decodes to an equal object; a document that did
// not decode was never kept.
func (c *Loader) decodeDocuments(name string, data []byte, old decodedFile, in interner) (decodedFile, error) {
	prev := make(map[uint64]client.Object, len(old.docs))
	for i, d := range old.docs {
		prev[d] = old.objs[i]
	}
	docs := resources.Documents(data)
	f := decodedFile{objs: make([]client.Object, len(docs)), docs: make([]uint64, len(docs))}
	var fresh []client.Object
	for i, d := range docs {
		f.docs[i] = c.digest.bytes(d.Body)
		if obj, ok := prev[f.docs[i]]; ok {
			f.objs[i] = obj
			continue
		}
		obj, err := d.Decode(name)
		if err != nil {
			return decodedFile{}, err
		}
		defaultNamespace(obj)
		f.objs[i] = obj
		fresh = append(fresh, obj)
	}
	in.objects(fresh)
	return f, nil
}

// keepUnchanged replaces each object of a changed file that is equal to
// the one of its key the file held before by that one: a document whose
// text changed (a comment, the order of fields) may still decode to an
// equal object. The translator takes the rules of a route only while it
// is the same object (translator/reuse.go): an edit of one route of a
// file of a hundred would otherwise convert the others again, and the
// data plane compare each of them field by field to find it unchanged.
func keepUnchanged(old, objs []client.Object) {
	if len(old) == 0 {
		return
	}
	byKey := make(map[Key]client.Object, len(old))
	for _, o := range old {
		byKey[KeyOf(o)] = o
	}
	for i, obj := range objs {
		if o, ok := byKey[KeyOf(obj)]; ok && o != obj && reflect.DeepEqual(o, obj) {
			objs[i] = o
		}
	}
}

// addObjects adds one file's objects, refusing an object defined twice.
func (l *Loaded) addObjects(name string, objs []client.Object) error {
	for _, obj := range objs {
		k := KeyOf(obj)
		if prev, dup := l.Files[k]; dup {
			return fmt.Errorf("%s: %s: metadata.name: already defined in %s", name, k, prev)
		}
		if err := l.Resources.Add(obj); err != nil {
			return fmt.Errorf("%s: %s: %w", name, k, err)
		}
		l.Files[k] = name
	}
	return nil
}

// KeyOf returns the key of a decoded object.
func KeyOf(obj client.Object) Key {
	return Key{Kind: obj.GetObjectKind().GroupVersionKind().Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// defaultNamespace puts a namespaced object without a namespace into
// DefaultNamespace.
func defaultNamespace(obj client.Object) {
	switch obj.GetObjectKind().GroupVersionKind().Kind {
	case "GatewayClass", "Namespace":
		return
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(DefaultNamespace)
	}
}

// syntheticClass is the GatewayClass standalone serves when the directory
// defines none.
func syntheticClass() *gatewayv1.GatewayClass {
	return &gatewayv1.GatewayClass{
		TypeMeta:   metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "GatewayClass"},
		ObjectMeta: metav1.ObjectMeta{Name: ClassName},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: translator.ControllerName},
	}
}
