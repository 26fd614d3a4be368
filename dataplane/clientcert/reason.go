package clientcert

// Reason says why a request failed its route's requirement. The values are
// the reason label of certgate_clientcert_rejections_total and the
// clientcert_rejection field of the access log; they never carry anything
// the client controls, so the label's cardinality is fixed. The empty
// Reason means the request passed.
type Reason string

// Reasons, in the order Check tests them, then ReasonPathConfusion, which
// Check never returns.
const (
	// ReasonPolicyInvalid: the policy could not be resolved or compiled; it
	// rejects every request until it is fixed (fail closed).
	ReasonPolicyInvalid Reason = "policy_invalid"
	// ReasonNoTLS: the request came over plain HTTP, where no certificate
	// can be presented.
	ReasonNoTLS Reason = "no_tls"
	// ReasonMissing: the client presented no certificate.
	ReasonMissing Reason = "missing"
	// ReasonUntrusted: the chain does not verify to the policy's CAs for
	// client authentication.
	ReasonUntrusted Reason = "untrusted"
	// ReasonExpired: the leaf is outside its validity period.
	ReasonExpired Reason = "expired"
	// ReasonPinMismatch: the leaf matches none of the pins.
	ReasonPinMismatch Reason = "pin_mismatch"
	// ReasonSANMismatch: the leaf carries none of the subject alternative
	// names.
	ReasonSANMismatch Reason = "san_mismatch"
	// ReasonPathConfusion: the request's path, read the way common backends
	// read paths, selects a rule whose requirement the connection does not
	// satisfy, although the path as sent matched another rule (see the
	// router package's Guard). It is counted on the rule the folded path
	// selected, not on the rule that matched.
	ReasonPathConfusion Reason = "path_confusion"
)

// Reasons returns every rejection reason, for initialising metric series
// so that a rate over a reason that never happened is 0, not absent.
func Reasons() []Reason {
	return []Reason{
		ReasonPolicyInvalid, ReasonNoTLS, ReasonMissing, ReasonUntrusted,
		ReasonExpired, ReasonPinMismatch, ReasonSANMismatch, ReasonPathConfusion,
	}
}
