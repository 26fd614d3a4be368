// Package v1alpha1 holds the certgate.dev/v1alpha1 API: ClientCertPolicy,
// which says which client certificates may call an HTTPRoute or a
// GRPCRoute, one rule of it, a Gateway listener or a whole Gateway.
//
// +kubebuilder:object:generate=true
// +groupName=certgate.dev
package v1alpha1
