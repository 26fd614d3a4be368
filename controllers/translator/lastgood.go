package translator

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// A listener whose certificate Secret is edited into something unusable (a
// truncated PEM, the key of another certificate, a missing tls.key) keeps
// serving the certificate that Secret last held while it was usable, so a
// typo in a Secret does not take a port down. The translator stays a pure
// function: the certificates last found good come in as
// Options.LastGoodCertificates and go out, updated, as
// Result.LastGoodCertificates; the pipeline's Runner carries them from one
// applied translation to the next.
//
// The fallback is narrow on purpose, because an unusable Secret may also be
// someone's attempt to revoke the certificate it held:
//
//   - It belongs to one listener and one Secret object. A listener never
//     receives a certificate it did not resolve itself, and a Secret or
//     Gateway that is deleted and created again (a new UID) is a new
//     object, even when both happen between two translations: nothing of
//     the old one is kept.
//   - Only content problems are covered. A deleted Secret, a reference that
//     now names another Secret or is no longer permitted (its ReferenceGrant
//     removed) drops the entry at once: those are deliberate and fail
//     closed, exactly as without a last good certificate.
//   - ResolvedRefs stays False with InvalidCertificateRef, and its message
//     says the last good certificate is still served, so the edit is not
//     silently ignored. To stop serving a certificate, delete its Secret or
//     the reference, or replace it with a valid one.
//   - Nothing survives a restart: a controller that starts with the Secret
//     already unusable leaves the listener unresolved and unprogrammed.

// LastGoodCertificates are the serving certificates that resolved on each
// listener, by listener and Secret. Their private keys are redacted in any
// text form (snapshot.PrivateKey).
type LastGoodCertificates map[CertificateSource]LastGoodCertificate

// CertificateSource is one of a listener's certificateRefs, resolved.
type CertificateSource struct {
	// GatewayUID is the UID of the listener's Gateway; empty for Gateways
	// read from files (standalone).
	GatewayUID types.UID
	// Listener is the listener's snapshot name, "namespace/gateway/listener".
	Listener string
	// Secret is the Secret the reference names.
	Secret types.NamespacedName
}

// LastGoodCertificate is the certificate a Secret object last held while
// it was usable.
type LastGoodCertificate struct {
	// SecretUID is the UID of the Secret object it was read from; empty for
	// Secrets read from files (standalone).
	SecretUID types.UID
	// Certificate is the key pair, as it went into the snapshot.
	Certificate snapshot.Certificate
}

// keepGood records c as the certificate src resolved to in this
// translation, for the next one.
func (t *translator) keepGood(src CertificateSource, uid types.UID, c snapshot.Certificate) {
	if t.lastGood == nil {
		t.lastGood = LastGoodCertificates{}
	}
	t.lastGood[src] = LastGoodCertificate{SecretUID: uid, Certificate: c}
}

// previousGood returns the certificate src last resolved to while its
// Secret was the object uid, if the previous translation had one.
func (t *translator) previousGood(src CertificateSource, uid types.UID) (snapshot.Certificate, bool) {
	prev, ok := t.opts.LastGoodCertificates[src]
	if !ok || prev.SecretUID != uid {
		return snapshot.Certificate{}, false
	}
	return prev.Certificate, true
}
