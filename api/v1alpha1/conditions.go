package v1alpha1

// Condition reasons certgate sets on policies beyond those Gateway API
// defines; Gateway API's own reasons are used wherever one fits. They are
// API: users and alerts match on them.
const (
	// PolicyReasonInvalid is Accepted=False for a policy whose content
	// cannot be used (a bad pin line, a bad PEM); its targets answer 403.
	PolicyReasonInvalid = "Invalid"
	// PolicyReasonTLSPassthrough is Accepted=False on a ClientCertPolicy
	// that targets TLSRoutes (or a Gateway's listeners) served in TLS
	// Passthrough mode: the gateway does not terminate that TLS, so it
	// cannot judge a client certificate, and those connections are served
	// as they were without the policy.
	PolicyReasonTLSPassthrough = "TLSPassthrough"
	// ReasonInvalidPinsRef is ResolvedRefs=False on a ClientCertPolicy whose
	// pinsFrom object or key is missing, or whose pin list does not parse.
	ReasonInvalidPinsRef = "InvalidPinsRef"
	// ReasonInvalidClientCertificateRef is ResolvedRefs=False on a
	// BackendTLSPolicy whose BackendTLSOptionClientCertificate Secret cannot
	// be used. It borrows the name of the Gateway reason for the same fault.
	ReasonInvalidClientCertificateRef = "InvalidClientCertificateRef"
)

// BackendTLSOptionClientCertificate is the BackendTLSPolicy option (a
// certgate extension) naming a kubernetes.io/tls Secret, in the policy's
// namespace, whose certificate the gateway presents to the targeted Service
// instead of its Gateway's spec.tls.backend.clientCertificateRef.
const BackendTLSOptionClientCertificate = "certgate.dev/client-certificate"
