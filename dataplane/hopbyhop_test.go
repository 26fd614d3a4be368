package dataplane

import (
	"fmt"
	"net/http"
	"testing"
)

func TestDropHopByHopRemovesTheSameFieldsFromSmallAndLargeHeaders(t *testing.T) {
	for _, extra := range []int{0, 20} {
		h := http.Header{"Connection": {"X-Named"}, "X-Named": {"1"}, "Accept": {"*/*"}}
		for _, name := range hopByHop {
			h[name] = append(h[name], "v")
		}
		for i := range extra {
			h[fmt.Sprintf("X-Extra-%d", i)] = []string{"e"}
		}
		dropHopByHop(h)
		for _, name := range append(hopByHop[:], "X-Named") {
			if _, ok := h[name]; ok {
				t.Errorf("%d extra fields: %s kept", extra, name)
			}
		}
		if len(h) != 1+extra || h.Get("Accept") != "*/*" {
			t.Errorf("%d extra fields: left %v", extra, h)
		}
	}
}
