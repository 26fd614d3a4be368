package resources

import (
	"errors"
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

const twoDocs = `# a comment
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: ns
spec:
  gatewayClassName: certgate
  listeners:
  - name: http
    port: 80
    protocol: HTTP
---
# only a comment
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: rg
spec:
  from: []
  to: []
`

func TestDecodeReadsEveryDocument(t *testing.T) {
	objs, err := Decode("gw.yaml", []byte(twoDocs))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("got %d objects, want 2", len(objs))
	}
	gw, ok := objs[0].(*gatewayv1.Gateway)
	if !ok || gw.Name != "gw" || gw.Spec.Listeners[0].Port != 80 {
		t.Errorf("first object = %#v", objs[0])
	}
	if _, ok := objs[1].(*gatewayv1.ReferenceGrant); !ok {
		t.Errorf("v1beta1 ReferenceGrant decoded as %T", objs[1])
	}
	var r Resources
	for _, o := range objs {
		if err := r.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.Gateways) != 1 || len(r.ReferenceGrants) != 1 {
		t.Errorf("Add sorted them wrongly: %+v", r)
	}
}

func TestDecodeErrorsNameFileAndLine(t *testing.T) {
	for _, tt := range []struct {
		name, yaml, want string
		line             int
	}{
		{"unknown field", strings.Replace(twoDocs, "gatewayClassName", "gatewayClass", 1), `Gateway: strict decoding error: unknown field "spec.gatewayClass"`, 1},
		{"unknown field in a list", strings.Replace(twoDocs, "protocol: HTTP", "prot: HTTP", 1), `unknown field "spec.listeners[0].prot"`, 1},
		{"duplicated field", strings.Replace(twoDocs, "port: 80", "port: 80\n    port: 81", 1), `key "port" already set in map`, 1},
		{"no kind in the third document", twoDocs + "---\napiVersion: v1\nmetadata:\n  name: p\n", `f.yaml:24: document 4: apiVersion "v1", kind "": every document needs both`, 24},
		{"unknown kind", twoDocs + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n", "v1 Pod is not a kind certgate reads", 24},
		{"bad yaml in second document", twoDocs + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: [\n", "yaml", 24},
		{"no name", "apiVersion: v1\nkind: ConfigMap\n", "metadata.name is required", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("f.yaml", []byte(tt.yaml))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a DecodeError", err)
			}
			if de.File != "f.yaml" || de.Line != tt.line || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want f.yaml:%d and %q", err, tt.line, tt.want)
			}
		})
	}
}

// TestDocumentsCutsAtSeparatorLines: documents are cut at "---" lines
// (CRLF, trailing blanks and a "--- " comment included), counted with
// the empty ones, and each body is its text as written, the last one
// without a final newline too.
func TestDocumentsCutsAtSeparatorLines(t *testing.T) {
	data := "---\r\na: 1\r\n--- # next\n\n# only a comment\n---  \nb: 2\n  c: 3\n---\n---\nd: 4"
	type doc struct {
		body        string
		line, index int
	}
	want := []doc{{"a: 1\r\n", 2, 2}, {"b: 2\n  c: 3\n", 7, 4}, {"d: 4", 11, 6}}
	var got []doc
	for _, d := range Documents([]byte(data)) {
		got = append(got, doc{string(d.Body), d.line, d.index})
	}
	if len(got) != len(want) {
		t.Fatalf("documents %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("document %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
