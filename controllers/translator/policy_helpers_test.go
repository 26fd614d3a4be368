package translator

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/resources"
)

// newPolicyTranslator builds a translator over objs without running any
// stage, so the policy stages' functions can be tested on their own.
func newPolicyTranslator(t *testing.T, objs ...client.Object) *translator {
	t.Helper()
	res := &resources.Resources{}
	for _, o := range objs {
		if err := res.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	res.Sort()
	return newTranslator(res, Options{Now: goldenNow, ControllerName: ControllerName}, nil)
}

func objectMeta(name string, created time.Time) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: "ns", Name: name, Generation: 1, CreationTimestamp: metav1.NewTime(created)}
}

func configMap(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Data: data}
}

func tlsSecret(name string, cert, key []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key},
	}
}

func routeTarget(name, section string) gatewayv1.LocalPolicyTargetReferenceWithSectionName {
	ref := gatewayv1.LocalPolicyTargetReferenceWithSectionName{LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{
		Group: gatewayv1.GroupName, Kind: "HTTPRoute", Name: gatewayv1.ObjectName(name)}}
	if section != "" {
		s := gatewayv1.SectionName(section)
		ref.SectionName = &s
	}
	return ref
}
