package translator

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// readClientCertificate reads the Secret nn as a certificate the gateway
// presents to backends, or says why it cannot be used. The Secret must
// hold tls.crt and tls.key forming a valid key pair; its type is not
// checked, since the keys are what the data plane needs and an Opaque
// Secret with them works as well (Gateway API leaves other types
// implementation-specific). The problem never quotes the Secret.
func (t *translator) readClientCertificate(nn types.NamespacedName) (*snapshot.Certificate, string) {
	s, ok := t.idx.secrets[nn]
	if !ok {
		return nil, fmt.Sprintf("Secret %s not found", nn)
	}
	certPEM, _, hasCert := t.idx.keyOf("Secret", nn, corev1.TLSCertKey)
	keyPEM, _, hasKey := t.idx.keyOf("Secret", nn, corev1.TLSPrivateKeyKey)
	if !hasCert || !hasKey {
		return nil, fmt.Sprintf("Secret %s (type %s) must hold both %s and %s", nn, s.Type, corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	if err := checkKeyPair(certPEM, keyPEM); err != nil {
		return nil, fmt.Sprintf("Secret %s: %v", nn, err)
	}
	return &snapshot.Certificate{Name: nn.String(), CertPEM: certPEM, Key: snapshot.PrivateKey(keyPEM)}, ""
}
