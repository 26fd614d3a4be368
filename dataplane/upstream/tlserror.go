package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
)

// Reasons TLSErrorReason returns: the reason label of
// certgate_backend_tls_errors_total. The set is closed so the metric's
// cardinality is bounded by configuration.
const (
	ReasonUnknownAuthority = "unknown_authority"
	ReasonHostnameMismatch = "hostname_mismatch"
	ReasonSANMismatch      = "san_mismatch"
	ReasonExpired          = "expired"
	// ReasonBadCertificate: the backend rejected the gateway's client
	// certificate (or its absence) with a TLS alert.
	ReasonBadCertificate = "bad_certificate"
	// ReasonHandshake is every other TLS failure.
	ReasonHandshake = "handshake"
)

// clientCertAlerts are the alerts a server sends when it rejects the
// certificate a client presented, or the lack of one (certificate_required
// is TLS 1.3's). crypto/tls reports a received alert as a *net.OpError
// whose Err is an unexported type with the same text as tls.AlertError, so
// the text is what can be compared; it comes from crypto/tls itself.
var clientCertAlerts = []tls.AlertError{
	42,  // bad_certificate
	43,  // unsupported_certificate
	44,  // certificate_revoked
	45,  // certificate_expired
	46,  // certificate_unknown
	48,  // unknown_ca
	49,  // access_denied
	116, // certificate_required
}

// TLSErrorReason classifies an error from a request to a TLS backend into
// one of the Reason constants, or "" when err is not a TLS failure (a
// refused connection, a timeout, a cancelled request).
//
// Checks run from the most specific to the least: a SAN mismatch or a
// hostname mismatch is reported as such even though it is also a
// verification error. With TLS 1.3 the backend judges the client
// certificate after the client considers the handshake done, so its alert
// arrives on the first read and reaches here through the transport's read
// error; it is classified the same. One case cannot be told apart: a TLS
// 1.2 backend that requires a certificate and gets none may answer with a
// plain handshake_failure alert (RFC 5246 allows it; Go's server does), so
// that is "handshake", not "bad_certificate".
func TLSErrorReason(err error) string {
	if err == nil {
		return ""
	}
	if r := verificationReason(err); r != "" {
		return r
	}
	if a, ok := remoteAlert(err); ok {
		if isClientCertAlert(a) {
			return ReasonBadCertificate
		}
		return ReasonHandshake
	}
	if isOtherTLSError(err) {
		return ReasonHandshake
	}
	return ""
}

// verificationReason classifies the gateway's own verdict on the backend's
// certificate.
func verificationReason(err error) string {
	if _, ok := errors.AsType[*SANMismatchError](err); ok {
		return ReasonSANMismatch
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return ReasonHostnameMismatch
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return ReasonUnknownAuthority
	}
	if ci, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		if ci.Reason == x509.Expired {
			return ReasonExpired
		}
		return ReasonHandshake
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return ReasonHandshake
	}
	return ""
}

// remoteAlert returns the alert the backend sent, if err carries one.
func remoteAlert(err error) (string, bool) {
	if a, ok := errors.AsType[tls.AlertError](err); ok {
		// QUIC and future crypto/tls versions wrap the typed alert.
		return a.Error(), true
	}
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "remote error" && op.Err != nil {
		return op.Err.Error(), true
	}
	return "", false
}

func isClientCertAlert(text string) bool {
	for _, a := range clientCertAlerts {
		if text == a.Error() {
			return true
		}
	}
	return false
}

// isOtherTLSError recognises the remaining TLS failures. Most have no type:
// crypto/tls and net/http report them with errors.New, so their fixed
// texts are matched as a last resort.
func isOtherTLSError(err error) bool {
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "tls: ") ||
		strings.Contains(msg, "TLS handshake timeout") ||
		strings.Contains(msg, "server gave HTTP response to HTTPS client")
}
