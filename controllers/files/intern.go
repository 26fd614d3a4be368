package files

import (
	"reflect"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The Loader keeps every decoded object for as long as its file is
// unchanged, and the JSON decoder allocates each string of each object
// apart: at 10,000 routes, the apiVersion, the path types, filter types,
// header names and Service names the routes repeat were 2 MiB of copies
// of a few dozen strings. An interner gives the objects decoded by one
// Load one copy of each.

// interner maps each string seen to its first copy. It lives for one
// Load, so it holds nothing between reloads.
type interner map[string]string

// objects makes the strings of objs share the copies of in.
func (in interner) objects(objs []client.Object) {
	for _, obj := range objs {
		in.value(reflect.ValueOf(obj).Elem())
	}
}

// value walks v, which is settable. Map keys and values are left alone:
// they cannot be set in place, and the kinds certgate reads keep few
// (labels, annotations, a ConfigMap's data).
func (in interner) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		in.string(v)
	case reflect.Pointer:
		if !v.IsNil() {
			in.value(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				in.value(f)
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range v.Len() {
			in.value(v.Index(i))
		}
	}
}

func (in interner) string(v reflect.Value) {
	s := v.String()
	if s == "" {
		return
	}
	if c, ok := in[s]; ok {
		v.SetString(c)
		return
	}
	in[s] = s
}
