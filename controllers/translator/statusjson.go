package translator

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/types"
)

// namedStatus is the JSON form of one object's status in a Status list:
// the lower-case names of metadata, then the status. The status types
// embed types.NamespacedName, which has no JSON tags and would print
// "Namespace" and "Name".
type namedStatus struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Status    any    `json:"status"`
}

func marshalNamed(nn types.NamespacedName, status any) ([]byte, error) {
	return json.Marshal(namedStatus{Namespace: nn.Namespace, Name: nn.Name, Status: status})
}

// MarshalJSON prints namespace, name and status.
func (s GatewayStatus) MarshalJSON() ([]byte, error) { return marshalNamed(s.NamespacedName, s.Status) }

// MarshalJSON prints namespace, name and status.
func (s RouteStatus) MarshalJSON() ([]byte, error) { return marshalNamed(s.NamespacedName, s.Status) }

// MarshalJSON prints namespace, name and status.
func (s BackendTLSPolicyStatus) MarshalJSON() ([]byte, error) {
	return marshalNamed(s.NamespacedName, s.Status)
}

// MarshalJSON prints namespace, name and status.
func (s ClientCertPolicyStatus) MarshalJSON() ([]byte, error) {
	return marshalNamed(s.NamespacedName, s.Status)
}
