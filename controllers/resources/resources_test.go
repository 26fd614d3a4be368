package resources

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSortOrdersByNamespaceThenName: Sort gives every order of the same
// objects the same sorted list, one already sorted included, and
// Objects lists them in that order.
func TestSortOrdersByNamespaceThenName(t *testing.T) {
	cm := func(ns, name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	objs := []*corev1.ConfigMap{cm("a", "b"), cm("b", "a"), cm("a", "a"), cm("a", "a-1"), cm("", "z")}
	want := []string{"/z", "a/a", "a/a-1", "a/b", "b/a"}
	for _, order := range [][]int{{0, 1, 2, 3, 4}, {4, 2, 3, 0, 1}, {1, 0, 3, 2, 4}} {
		r := &Resources{}
		for _, i := range order {
			_ = r.Add(objs[i])
		}
		r.Sort()
		var got []string
		for _, o := range r.Objects() {
			got = append(got, o.GetNamespace()+"/"+o.GetName())
		}
		if !slices.Equal(got, want) {
			t.Errorf("order %v sorts to %v, want %v", order, got, want)
		}
	}
}
