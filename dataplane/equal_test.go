package dataplane

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// fill sets every exported field reachable from v to a value from next:
// strings, numbers and booleans, one element in every slice and map, and
// every pointer allocated. Two routes filled from counters that start
// alike are equal and share nothing.
func fill(v reflect.Value, next func() int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprint("v", next()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(next()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(next()))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), next)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), next)
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), next)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, next)
		fill(e, next)
		v.SetMapIndex(k, e)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), next)
			}
		}
	}
}

func filledRoute() *snapshot.Route {
	n := 0
	r := &snapshot.Route{}
	fill(reflect.ValueOf(r).Elem(), func() int { n++; return n })
	return r
}

// eachLeaf calls change with every settable string, number and boolean
// reachable from v, and every pointer, slice and map, with path naming it;
// change alters it, checks, and undoes it.
func eachLeaf(v reflect.Value, path string, change func(path string, v reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		change(path, v)
		eachLeaf(v.Elem(), path, change)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice {
			change(path, v)
		}
		for i := range v.Len() {
			eachLeaf(v.Index(i), fmt.Sprintf("%s[%d]", path, i), change)
		}
	case reflect.Map:
		change(path, v)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				eachLeaf(v.Field(i), path+"."+f.Name, change)
			}
		}
	default:
		change(path, v)
	}
}

// change alters v: nil where there was a value, a string, number or
// boolean to another. It reports whether it could.
func change(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		v.Set(reflect.Zero(v.Type()))
	case reflect.String:
		v.SetString(v.String() + "!")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	default:
		return false
	}
	return true
}

// TestSameRouteSeesEveryField: the route cache reuses a compiled route
// only when sameRoute says its snapshot route did not change. A change of
// any one field, down to a pin's bytes, a CA's PEM or a backend endpoint,
// must count as a change, as reflect.DeepEqual counts it.
func TestSameRouteSeesEveryField(t *testing.T) {
	a, b := filledRoute(), filledRoute()
	if !sameRoute(a, b) || !reflect.DeepEqual(a, b) {
		t.Fatal("two routes filled alike are not equal")
	}
	fields := 0
	eachLeaf(reflect.ValueOf(b).Elem(), "route", func(path string, v reflect.Value) {
		old := reflect.New(v.Type()).Elem()
		old.Set(v)
		if !change(v) {
			return
		}
		fields++
		if sameRoute(a, b) || reflect.DeepEqual(a, b) {
			t.Errorf("%s changed: sameRoute %v, DeepEqual %v, want both false", path, sameRoute(a, b), reflect.DeepEqual(a, b))
		}
		v.Set(old)
	})
	if fields < 40 {
		t.Errorf("only %d fields were changed; the fill reaches too little of a route", fields)
	}
	if !sameRoute(a, b) {
		t.Fatal("the routes differ after every change was undone")
	}
	b.CreationTimestamp = a.CreationTimestamp.Add(time.Nanosecond)
	if sameRoute(a, b) {
		t.Error("a route created a nanosecond later was taken as the same")
	}
}

// Empty and nil slices are told apart, as DeepEqual tells them.
func TestSameRouteTellsAnEmptySliceFromNone(t *testing.T) {
	a, b := &snapshot.Route{Name: "r"}, &snapshot.Route{Name: "r", Hostnames: []string{}}
	if sameRoute(a, b) != reflect.DeepEqual(a, b) {
		t.Errorf("sameRoute %v, DeepEqual %v", sameRoute(a, b), reflect.DeepEqual(a, b))
	}
}
