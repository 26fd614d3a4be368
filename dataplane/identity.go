package dataplane

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math"
	"reflect"
	"slices"
	"sync/atomic"
)

// identity is a digest of everything a shared compiled value was compiled
// from. It is computed by walking that value reflectively, every field
// down to a key's bytes, so no field can be left out of it by a
// hand-written key; and it is a SHA-256, so two different sources (two
// client certificates, say) cannot be made to collide.
type identity [sha256.Size]byte

// identityOf digests v, a pointer to the whole source of a compile.
func identityOf(v any) identity {
	w := identityWriter{h: sha256.New()}
	w.value(reflect.ValueOf(v))
	var id identity
	w.h.Sum(id[:0])
	return id
}

// unshareable numbers the values identityOf cannot digest (functions,
// channels), each occurrence differently: a source holding one is never
// shared, rather than wrongly shared.
var unshareable atomic.Uint64

// identityWriter writes a value as an unambiguous byte stream: fixed-size
// numbers, and a length or a nil mark before every string, slice, map and
// pointer, so no two values of one type write the same bytes.
type identityWriter struct {
	h   hash.Hash
	buf [8]byte
}

func (w *identityWriter) uint(u uint64) {
	binary.BigEndian.PutUint64(w.buf[:], u)
	w.h.Write(w.buf[:])
}

func (w *identityWriter) bytes(b []byte) {
	w.uint(uint64(len(b)))
	w.h.Write(b)
}

func (w *identityWriter) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		w.uint(uint64(boolByte(v.Bool())))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.uint(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.uint(v.Uint())
	case reflect.Float32, reflect.Float64:
		w.uint(math.Float64bits(v.Float()))
	case reflect.Complex64, reflect.Complex128:
		w.uint(math.Float64bits(real(v.Complex())))
		w.uint(math.Float64bits(imag(v.Complex())))
	case reflect.String:
		w.bytes([]byte(v.String()))
	case reflect.Pointer, reflect.Interface:
		w.reference(v)
	case reflect.Struct:
		for i := range v.NumField() {
			w.value(v.Field(i))
		}
	case reflect.Array:
		w.elems(v)
	case reflect.Slice:
		w.present(!v.IsNil())
		w.uint(uint64(v.Len()))
		w.elems(v)
	case reflect.Map:
		w.present(!v.IsNil())
		w.entries(v)
	default:
		w.uint(unshareable.Add(1))
	}
}

// reference writes a pointer's or interface's value, after a nil mark;
// an interface's dynamic type too, as two types may write alike.
func (w *identityWriter) reference(v reflect.Value) {
	w.present(!v.IsNil())
	if v.IsNil() {
		return
	}
	if v.Kind() == reflect.Interface {
		t := v.Elem().Type()
		w.bytes([]byte(t.PkgPath() + "." + t.String()))
	}
	w.value(v.Elem())
}

func (w *identityWriter) present(ok bool) { w.uint(uint64(boolByte(ok))) }

// elems writes the elements of an array or slice; bytes at once.
func (w *identityWriter) elems(v reflect.Value) {
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
		w.h.Write(v.Bytes())
		return
	}
	for i := range v.Len() {
		w.value(v.Index(i))
	}
}

// entries writes a map's entries in an order of their own, not the map's:
// each entry is digested alone and the digests are written sorted.
func (w *identityWriter) entries(v reflect.Value) {
	digests := make([][]byte, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		e := identityWriter{h: sha256.New()}
		e.value(it.Key())
		e.value(it.Value())
		digests = append(digests, e.h.Sum(nil))
	}
	slices.SortFunc(digests, bytes.Compare)
	w.uint(uint64(len(digests)))
	for _, d := range digests {
		w.h.Write(d)
	}
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
