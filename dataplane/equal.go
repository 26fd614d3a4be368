package dataplane

import (
	"bytes"
	"reflect"
	"slices"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// sameRoute reports whether two snapshot routes are equal in every field,
// as reflect.DeepEqual says: the route cache reuses a compiled route only
// then. The route's own fields are compared here, which spares a walk by
// reflection of every unchanged route on every change; its rules, which
// hold pins, CAs and backends, by equalValue, so none of theirs can be
// forgotten (TestSameRouteSeesEveryField changes each field, the route's
// own included). The creation time is compared as an instant, which is
// all the route table orders by.
func sameRoute(a, b *snapshot.Route) bool {
	return a == b ||
		a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name &&
			a.CreationTimestamp.Equal(b.CreationTimestamp) &&
			(a.Hostnames == nil) == (b.Hostnames == nil) && slices.Equal(a.Hostnames, b.Hostnames) &&
			sameRules(a.Rules, b.Rules)
}

// sameRules is equalValue for a route's rules. The rules the translator
// hands an unchanged route are the slice it made before, so the first
// element's address settles most comparisons; reflection is reached
// only when they differ (reflect.ValueOf of a slice allocates).
func sameRules(a, b []snapshot.Rule) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	return len(a) == 0 || &a[0] == &b[0] || equalRules(a, b)
}

func equalRules(a, b []snapshot.Rule) bool {
	return equalValue(reflect.ValueOf(a), reflect.ValueOf(b))
}

// equalValue is reflect.DeepEqual for the values a snapshot holds, which
// are trees (a snapshot is JSON): it keeps no record of the pointers it
// visited, which DeepEqual keeps to stop at cycles and which was half its
// cost when an edit compares thousands of routes. Kinds a snapshot does
// not hold (functions, channels, unsafe pointers) are never equal, so a
// value holding one is compiled again rather than wrongly reused.
func equalValue(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	case reflect.Complex64, reflect.Complex128:
		return a.Complex() == b.Complex()
	case reflect.String:
		return a.String() == b.String()
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		// One pointer is one value: time.Time's *Location, for one, is
		// shared by every timestamp.
		return a.Kind() == reflect.Pointer && a.Pointer() == b.Pointer() || equalValue(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !equalValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Array:
		return equalElems(a, b)
	case reflect.Slice:
		// As for DeepEqual, a slice is equal to one that starts at the same
		// element: the translator hands an unchanged route the rules it
		// made before, and those need no walk.
		return a.IsNil() == b.IsNil() && a.Len() == b.Len() && (a.Pointer() == b.Pointer() || equalElems(a, b))
	case reflect.Map:
		return a.IsNil() == b.IsNil() && a.Len() == b.Len() && (a.Pointer() == b.Pointer() || equalEntries(a, b))
	}
	return false
}

// equalElems compares the elements of two arrays or slices of one length.
func equalElems(a, b reflect.Value) bool {
	if a.Kind() == reflect.Slice && a.Type().Elem().Kind() == reflect.Uint8 {
		return bytes.Equal(a.Bytes(), b.Bytes())
	}
	for i := range a.Len() {
		if !equalValue(a.Index(i), b.Index(i)) {
			return false
		}
	}
	return true
}

// equalEntries compares two maps of one length.
func equalEntries(a, b reflect.Value) bool {
	for it := a.MapRange(); it.Next(); {
		other := b.MapIndex(it.Key())
		if !other.IsValid() || !equalValue(it.Value(), other) {
			return false
		}
	}
	return true
}
