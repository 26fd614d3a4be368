package resources

import (
	"bytes"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/certgate/certgate/api/v1alpha1"
)

// kinds maps each apiVersion and kind certgate reads to a constructor. A
// kind may be accepted at several versions whose fields are the same
// (ReferenceGrant v1beta1 and v1, BackendTLSPolicy v1alpha3 and v1); it is
// decoded into the newest type.
var kinds = map[schema.GroupVersionKind]func() client.Object{
	gvk(gatewayV1, "GatewayClass"):                       func() client.Object { return &gatewayv1.GatewayClass{} },
	gvk(gatewayV1, "Gateway"):                            func() client.Object { return &gatewayv1.Gateway{} },
	gvk(gatewayV1, "HTTPRoute"):                          func() client.Object { return &gatewayv1.HTTPRoute{} },
	gvk(gatewayV1, "TLSRoute"):                           func() client.Object { return &gatewayv1.TLSRoute{} },
	gvk(gatewayV1alpha3, "TLSRoute"):                     func() client.Object { return &gatewayv1.TLSRoute{} },
	gvk(gatewayV1alpha2, "TLSRoute"):                     func() client.Object { return &gatewayv1.TLSRoute{} },
	gvk(gatewayV1, "GRPCRoute"):                          func() client.Object { return &gatewayv1.GRPCRoute{} },
	gvk(gatewayV1, "ReferenceGrant"):                     func() client.Object { return &gatewayv1.ReferenceGrant{} },
	gvk(gatewayV1, "BackendTLSPolicy"):                   func() client.Object { return &gatewayv1.BackendTLSPolicy{} },
	gvk(gatewayV1beta1, "GatewayClass"):                  func() client.Object { return &gatewayv1.GatewayClass{} },
	gvk(gatewayV1beta1, "Gateway"):                       func() client.Object { return &gatewayv1.Gateway{} },
	gvk(gatewayV1beta1, "HTTPRoute"):                     func() client.Object { return &gatewayv1.HTTPRoute{} },
	gvk(gatewayV1beta1, "ReferenceGrant"):                func() client.Object { return &gatewayv1.ReferenceGrant{} },
	gvk(gatewayV1alpha3, "BackendTLSPolicy"):             func() client.Object { return &gatewayv1.BackendTLSPolicy{} },
	gvk(v1alpha1.GroupVersion, "ClientCertPolicy"):       func() client.Object { return &v1alpha1.ClientCertPolicy{} },
	gvk(corev1.SchemeGroupVersion, "Service"):            func() client.Object { return &corev1.Service{} },
	gvk(corev1.SchemeGroupVersion, "Secret"):             func() client.Object { return &corev1.Secret{} },
	gvk(corev1.SchemeGroupVersion, "ConfigMap"):          func() client.Object { return &corev1.ConfigMap{} },
	gvk(corev1.SchemeGroupVersion, "Namespace"):          func() client.Object { return &corev1.Namespace{} },
	gvk(discoveryv1.SchemeGroupVersion, "EndpointSlice"): func() client.Object { return &discoveryv1.EndpointSlice{} },
}

var (
	gatewayV1       = schema.GroupVersion(gatewayv1.GroupVersion)
	gatewayV1beta1  = schema.GroupVersion{Group: gatewayv1.GroupName, Version: "v1beta1"}
	gatewayV1alpha3 = schema.GroupVersion{Group: gatewayv1.GroupName, Version: "v1alpha3"}
	gatewayV1alpha2 = schema.GroupVersion{Group: gatewayv1.GroupName, Version: "v1alpha2"}
)

func gvk(gv schema.GroupVersion, kind string) schema.GroupVersionKind { return gv.WithKind(kind) }

// DecodeError says which document of which file could not be decoded, and
// at which line the document starts.
type DecodeError struct {
	File string
	// Line is the 1-based line where the document starts.
	Line int
	// Document is the 1-based index of the document in the file, counting
	// every "---"-separated document, empty ones included.
	Document int
	Err      error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s:%d: document %d: %v", e.File, e.Line, e.Document, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Decode reads every YAML document in data (a file named file) into typed
// objects. Empty documents are skipped. Unknown fields are errors, so a
// misspelt field is reported instead of silently ignored. Every error is a
// *DecodeError naming the file and line.
func Decode(file string, data []byte) ([]client.Object, error) {
	var objs []client.Object
	for _, d := range Documents(data) {
		obj, err := d.Decode(file)
		if err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// Document is one YAML document of a file that is neither empty nor only
// comments: what Decode makes one object of. A caller that kept the
// object of a document with the same Body may take it instead of decoding
// again (the file provider does, for the documents an edit left alone).
type Document struct {
	// Body is the document's text, without its "---" separator line.
	Body []byte
	// line is the 1-based line where the document starts; index its
	// 1-based place in the file, counting every document, empty ones
	// included.
	line, index int
}

// Documents returns the documents of data, in order, leaving out empty
// ones.
func Documents(data []byte) []Document {
	var out []Document
	for i, d := range splitDocuments(data) {
		if blank(d.body) {
			continue
		}
		out = append(out, Document{Body: d.body, line: d.line, index: i + 1})
	}
	return out
}

// Decode decodes d, a document of file, as Decode does.
func (d Document) Decode(file string) (client.Object, error) {
	obj, err := decodeOne(d.Body)
	if err != nil {
		return nil, &DecodeError{File: file, Line: d.line, Document: d.index, Err: err}
	}
	return obj, nil
}

// document is one YAML document and the line it starts on.
type document struct {
	line int
	body []byte
}

// splitDocuments cuts data at "---" separator lines, keeping track of
// where each document starts so errors can name the line. Each body is a
// part of data, not a copy.
func splitDocuments(data []byte) []document {
	docs := []document{{line: 1}}
	start, line := 0, 0
	for off := 0; off < len(data); line++ {
		end := len(data)
		if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
			end = off + i + 1
		}
		if t := bytes.TrimRight(data[off:end], " \t\r\n"); bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			docs[len(docs)-1].body = data[start:off:off]
			docs = append(docs, document{line: line + 2})
			start = end
		}
		off = end
	}
	docs[len(docs)-1].body = data[start:len(data):len(data)]
	return docs
}

// decodeOne decodes one document with apimachinery's strict YAML
// serializer, the decoder kubectl uses: an unknown or duplicated field is
// reported with its path ("unknown field \"spec.listeners[0].prot\""),
// and no defaults are applied, so what is read is what the file says.
//
// That serializer parses the YAML twice, and reading apiVersion and kind
// first a third time: most of what a reload of an edited file cost. So a
// document is first converted once, with duplicated fields refused, and
// decoded from JSON by the same serializer; only a document that fails
// there is decoded again the long way, whose error is the one reported,
// word for word what it always was.
func decodeOne(doc []byte) (client.Object, error) {
	if obj, ok := decodeOnce(doc); ok {
		return obj, nil
	}
	return decodeChecked(doc)
}

// decodeOnce converts doc to JSON once and decodes it; ok is false on any
// problem, which decodeChecked then reports.
func decodeOnce(doc []byte) (client.Object, bool) {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, false
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if json.Unmarshal(data, &meta) != nil {
		return nil, false
	}
	gv, err := schema.ParseGroupVersion(meta.APIVersion)
	newObj, ok := kinds[gv.WithKind(meta.Kind)]
	if err != nil || !ok || meta.APIVersion == "" || meta.Kind == "" {
		return nil, false
	}
	obj := newObj()
	if _, _, err := strictJSON.Decode(data, nil, obj); err != nil || obj.GetName() == "" {
		return nil, false
	}
	return obj, true
}

// decodeChecked decodes doc the long way, with every error a user sees.
func decodeChecked(doc []byte) (client.Object, error) {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return nil, err
	}
	if meta.APIVersion == "" || meta.Kind == "" {
		return nil, fmt.Errorf("apiVersion %q, kind %q: every document needs both, e.g. apiVersion: gateway.networking.k8s.io/v1 and kind: Gateway", meta.APIVersion, meta.Kind)
	}
	gv, err := schema.ParseGroupVersion(meta.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("apiVersion %q: %w", meta.APIVersion, err)
	}
	newObj, ok := kinds[gv.WithKind(meta.Kind)]
	if !ok {
		return nil, fmt.Errorf("%s %s is not a kind certgate reads", meta.APIVersion, meta.Kind)
	}
	obj := newObj()
	if _, _, err := strictYAML.Decode(doc, nil, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", meta.Kind, err)
	}
	if obj.GetName() == "" {
		return nil, fmt.Errorf("%s: metadata.name is required", meta.Kind)
	}
	return obj, nil
}

// strictYAML decodes YAML into the types of kinds and refuses unknown and
// duplicated fields.
var strictYAML = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})

// strictJSON is strictYAML for a document already converted to JSON.
var strictJSON = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Strict: true})

// scheme knows every kind certgate reads, each at every version it is
// accepted at, so the serializer can decode into the newest type.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for k, newObj := range kinds {
		s.AddKnownTypeWithName(k, newObj())
	}
	return s
}()

// blank reports whether a document has nothing but blank and comment
// lines: it counts as empty.
func blank(doc []byte) bool {
	for l := range bytes.SplitSeq(doc, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			return false
		}
	}
	return true
}
