package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the API group and version of this package.
	GroupVersion = schema.GroupVersion{Group: "certgate.dev", Version: "v1alpha1"}

	// SchemeBuilder registers this package's types. It uses apimachinery
	// alone, so importing the API pulls in no controller libraries.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds this package's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &ClientCertPolicy{}, &ClientCertPolicyList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
