package translator

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// index finds referenced objects by namespace and name.
type index struct {
	secrets    map[types.NamespacedName]*corev1.Secret
	configMaps map[types.NamespacedName]*corev1.ConfigMap
	services   map[types.NamespacedName]*corev1.Service
	namespaces map[string]*corev1.Namespace
	// slices are a Service's EndpointSlices, by the Service's name.
	slices map[types.NamespacedName][]*discoveryv1.EndpointSlice
	// endpoints are the ready endpoints of each Service port a backend
	// used, filled in on first use (translator.endpoints).
	endpoints map[endpointsKey][]snapshot.Endpoint
	// backendNames are the names of the Service ports a backend used
	// (translator.backendName).
	backendNames map[backendKey]string
}

func newIndex(res *resources.Resources) *index {
	idx := &index{
		secrets:    map[types.NamespacedName]*corev1.Secret{},
		configMaps: map[types.NamespacedName]*corev1.ConfigMap{},
		services:   map[types.NamespacedName]*corev1.Service{},
		namespaces: map[string]*corev1.Namespace{},
		slices:     map[types.NamespacedName][]*discoveryv1.EndpointSlice{},
	}
	for _, s := range res.Secrets {
		idx.secrets[nameOf(s.Namespace, s.Name)] = s
	}
	for _, c := range res.ConfigMaps {
		idx.configMaps[nameOf(c.Namespace, c.Name)] = c
	}
	for _, s := range res.Services {
		idx.services[nameOf(s.Namespace, s.Name)] = s
	}
	for _, n := range res.Namespaces {
		idx.namespaces[n.Name] = n
	}
	for _, es := range res.EndpointSlices {
		if svc := es.Labels[discoveryv1.LabelServiceName]; svc != "" {
			nn := nameOf(es.Namespace, svc)
			idx.slices[nn] = append(idx.slices[nn], es)
		}
	}
	return idx
}

// memoized returns (*m)[k], made by make and kept on first use: what a
// translation works out once per key (a Service port's endpoints and
// name, the conditions routes share) and then hands every rule or route
// that asks.
func memoized[K comparable, V any](m *map[K]V, k K, make func() V) V {
	if v, ok := (*m)[k]; ok {
		return v
	}
	if *m == nil {
		*m = map[K]V{}
	}
	v := make()
	(*m)[k] = v
	return v
}

func nameOf(namespace, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: namespace, Name: name}
}

// keyOf returns the value of key in the ConfigMap or Secret (kind)
// nn, and whether the object and the key exist. A ConfigMap's data and
// binaryData are both read; a Secret's data, then stringData, which only
// the file provider can hold (the API server folds it into data).
func (idx *index) keyOf(kind string, nn types.NamespacedName, key string) (value []byte, objFound, keyFound bool) {
	switch kind {
	case "ConfigMap":
		cm, ok := idx.configMaps[nn]
		if !ok {
			return nil, false, false
		}
		if v, ok := cm.Data[key]; ok {
			return []byte(v), true, true
		}
		v, ok := cm.BinaryData[key]
		return v, true, ok
	case "Secret":
		s, ok := idx.secrets[nn]
		if !ok {
			return nil, false, false
		}
		if v, ok := s.Data[key]; ok {
			return v, true, true
		}
		v, ok := s.StringData[key]
		return []byte(v), true, ok
	}
	return nil, false, false
}
