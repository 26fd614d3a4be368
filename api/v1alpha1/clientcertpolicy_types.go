package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ClientCertPolicy says which client certificates may call the routes it
// targets. A request whose connection did not present a certificate that
// satisfies every configured check gets 403; other routes on the same
// listener are not affected.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ccp,categories=gateway-api
// +kubebuilder:metadata:labels="gateway.networking.k8s.io/policy=Direct"
// +kubebuilder:printcolumn:name="Targets",type=string,JSONPath=`.spec.targetRefs[*].name`
// +kubebuilder:printcolumn:name="Pins",type=integer,JSONPath=`.status.pinCount`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.ancestors[0].conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClientCertPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClientCertPolicySpec   `json:"spec"`
	Status ClientCertPolicyStatus `json:"status,omitempty"`
}

// ClientCertPolicySpec is what a client certificate must satisfy. A
// request passes when the certificate presented on its connection satisfies
// every configured check: the chain verifies (trust), the leaf matches any
// pin (pins, pinsFrom), the leaf carries any of the subjectAltNames, and the
// leaf is not expired (unless allowExpired).
//
// +kubebuilder:validation:XValidation:rule="has(self.pins) || has(self.pinsFrom) || has(self.trust)",message="at least one of pins, pinsFrom or trust is required: a policy must say which certificates it accepts"
type ClientCertPolicySpec struct {
	// TargetRefs are the HTTPRoutes, GRPCRoutes, TLSRoutes or Gateways, in
	// the policy's namespace, this policy applies to. With sectionName,
	// only that rule (HTTPRoute, GRPCRoute, TLSRoute) or listener
	// (Gateway). A TLSRoute is judged per connection, at the handshake, on
	// listeners that terminate its TLS; on Passthrough listeners it cannot
	// be, and the status says so.
	//
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:XValidation:rule="self.all(r, r.group == 'gateway.networking.k8s.io' && (r.kind == 'HTTPRoute' || r.kind == 'GRPCRoute' || r.kind == 'TLSRoute' || r.kind == 'Gateway'))",message="targetRefs must be HTTPRoutes, GRPCRoutes, TLSRoutes or Gateways of group gateway.networking.k8s.io"
	TargetRefs []gatewayv1.LocalPolicyTargetReferenceWithSectionName `json:"targetRefs"`

	// Pins are fingerprints of accepted leaf certificates; any one matches.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=64
	Pins []Pin `json:"pins,omitempty"`

	// PinsFrom reads more pins from ConfigMaps or Secrets in the policy's
	// namespace, one per line: "sha256:<hex>", "sha1:<hex>" or
	// "spki-sha256:<base64>"; "#" starts a comment.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=8
	PinsFrom []PinSource `json:"pinsFrom,omitempty"`

	// Trust, when set, requires the chain to verify to one of its CA
	// certificates for client authentication (extended key usage
	// clientAuth).
	//
	// +optional
	Trust *Trust `json:"trust,omitempty"`

	// SubjectAltNames, when set, requires the leaf to carry one of them.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=16
	SubjectAltNames []SubjectAltName `json:"subjectAltNames,omitempty"`

	// AllowExpired accepts a leaf outside its validity period. Default
	// false: an expired leaf is rejected.
	//
	// +optional
	AllowExpired bool `json:"allowExpired,omitempty"`

	// Mode is Enforce (reject with 403) or Audit (never reject; count what
	// would be rejected).
	//
	// +optional
	// +kubebuilder:default=Enforce
	Mode Mode `json:"mode,omitempty"`

	// ForwardClientCert is what passing requests carry upstream about the
	// client certificate. Client-sent certificate headers are always
	// removed.
	//
	// +optional
	// +kubebuilder:default=None
	ForwardClientCert ForwardClientCert `json:"forwardClientCert,omitempty"`

	// PathConfusionGuard, Enabled by default, refuses a request without a
	// certificate this policy accepts when its path, read the way common
	// backends read paths (case folded, ";" parameters dropped, "//"
	// merged, trailing dots and spaces dropped, cut at a NUL), would select
	// a rule this policy governs, even if the path as sent matches an open
	// rule: "/ADMIN" served as "/admin" by a case-insensitive backend.
	// Disabled is for owners whose backends read paths exactly as sent.
	//
	// +optional
	// +kubebuilder:default=Enabled
	PathConfusionGuard PathConfusionGuard `json:"pathConfusionGuard,omitempty"`
}

// Pin is one fingerprint of an accepted leaf certificate. Colons, spaces
// and case are ignored in hex.
//
// +kubebuilder:validation:XValidation:rule="[has(self.sha256), has(self.sha1), has(self.spkiSHA256)].filter(x, x).size() == 1",message="a pin has exactly one of sha256, sha1 or spkiSHA256"
type Pin struct {
	// SHA256 is the SHA-256 of the DER certificate, 64 hex digits.
	//
	// +optional
	// +kubebuilder:validation:Pattern=`^\x{200E}?\s*([0-9A-Fa-f]{2}[: ]?){31}[0-9A-Fa-f]{2}\s*$`
	SHA256 string `json:"sha256,omitempty"`
	// SHA1 is the SHA-1 of the DER certificate, 40 hex digits: the
	// "thumbprint" Windows, IIS and Azure show.
	//
	// +optional
	// +kubebuilder:validation:Pattern=`^\x{200E}?\s*([0-9A-Fa-f]{2}[: ]?){19}[0-9A-Fa-f]{2}\s*$`
	SHA1 string `json:"sha1,omitempty"`
	// SPKISHA256 is the SHA-256 of the DER SubjectPublicKeyInfo, base64 (44
	// characters) or 64 hex digits. It survives re-issuance with the same
	// key.
	//
	// +optional
	// +kubebuilder:validation:Pattern=`^\s*([A-Za-z0-9+/]{43}=|([0-9A-Fa-f]{2}[: ]?){31}[0-9A-Fa-f]{2})\s*$`
	SPKISHA256 string `json:"spkiSHA256,omitempty"`
}

// ObjectKind is the kind of an object a policy reads data from.
//
// +kubebuilder:validation:Enum=ConfigMap;Secret
type ObjectKind string

// Object kinds a policy may read.
const (
	KindConfigMap ObjectKind = "ConfigMap"
	KindSecret    ObjectKind = "Secret"
)

// PEMPinType is what a certificate found as PEM in a pinsFrom key is
// pinned by.
//
// +kubebuilder:validation:Enum=Certificate;SPKI
type PEMPinType string

// PEM pin types.
const (
	// PEMPinCertificate pins the SHA-256 of the DER certificate: exactly
	// this certificate, a renewed one is a new pin.
	PEMPinCertificate PEMPinType = "Certificate"
	// PEMPinSPKI pins the SHA-256 of the certificate's public key
	// (SubjectPublicKeyInfo): a certificate re-issued with the same key
	// still matches.
	PEMPinSPKI PEMPinType = "SPKI"
)

// PinSource is a key of a ConfigMap or Secret holding pins: a pin list
// (one pin line per line), or PEM certificates, each of which is pinned.
type PinSource struct {
	// Kind is ConfigMap or Secret.
	Kind ObjectKind `json:"kind"`
	// Name of the object, in the policy's namespace.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key holding the pin list or the PEM certificates. A key whose
	// content has a PEM block ("-----BEGIN ...") is read as PEM: every
	// CERTIFICATE block is a leaf to pin, private key blocks are ignored,
	// and a CA certificate makes the source invalid.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
	// PinType says how PEM certificates in the key are pinned:
	// Certificate (the default) by the SHA-256 of each certificate, SPKI
	// by the SHA-256 of its public key. It is ignored for pin lists, whose
	// lines name their own algorithm.
	//
	// +optional
	PinType PEMPinType `json:"pinType,omitempty"`
	// KeepPrevious is how long a pin of a PEM certificate this key no
	// longer holds stays accepted after the change was seen: the renewal
	// overlap, so a client that has not yet picked up its renewed
	// certificate is not cut off. Default 24h; "0s" drops a replaced
	// certificate at once. Shortening it shortens pins already retiring.
	// It applies to PEM certificates only: a pin list's pins are not
	// kept, since keeping one means writing it to status, and the
	// content of a Secret must never reach status.
	//
	// +optional
	KeepPrevious *metav1.Duration `json:"keepPrevious,omitempty"`
}

// DefaultKeepPrevious is spec.pinsFrom[].keepPrevious when not set: a day
// covers a client fleet that reloads its certificate daily.
const DefaultKeepPrevious = 24 * time.Hour

// Trust is the set of CA certificates a client chain must verify to.
type Trust struct {
	// CACertificateRefs are ConfigMaps or Secrets in the policy's namespace
	// whose key ca.crt holds PEM CA certificates.
	//
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	CACertificateRefs []CACertificateRef `json:"caCertificateRefs"`
}

// CACertificateRef names an object whose key ca.crt holds CA certificates.
type CACertificateRef struct {
	// Kind is ConfigMap or Secret.
	Kind ObjectKind `json:"kind"`
	// Name of the object, in the policy's namespace.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// SANType is a kind of subject alternative name.
//
// +kubebuilder:validation:Enum=DNS;URI;Email
type SANType string

// Subject alternative name types.
const (
	SANTypeDNS   SANType = "DNS"
	SANTypeURI   SANType = "URI"
	SANTypeEmail SANType = "Email"
)

// SubjectAltName is one accepted subject alternative name, matched
// exactly (DNS names case-insensitively).
type SubjectAltName struct {
	Type SANType `json:"type"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Value string `json:"value"`
}

// Mode is whether a policy rejects.
//
// +kubebuilder:validation:Enum=Enforce;Audit
type Mode string

// Policy modes.
const (
	ModeEnforce Mode = "Enforce"
	ModeAudit   Mode = "Audit"
)

// ForwardClientCert is a format for forwarding the client certificate.
//
// +kubebuilder:validation:Enum=None;XFCC;RFC9440
type ForwardClientCert string

// Forwarding formats.
const (
	ForwardNone    ForwardClientCert = "None"
	ForwardXFCC    ForwardClientCert = "XFCC"
	ForwardRFC9440 ForwardClientCert = "RFC9440"
)

// PathConfusionGuard says whether the path confusion guard is on.
//
// +kubebuilder:validation:Enum=Enabled;Disabled
type PathConfusionGuard string

// Guard settings.
const (
	PathConfusionGuardEnabled  PathConfusionGuard = "Enabled"
	PathConfusionGuardDisabled PathConfusionGuard = "Disabled"
)

// ClientCertPolicyStatus is the policy's status per ancestor Gateway
// (GEP-713).
type ClientCertPolicyStatus struct {
	// Ancestors has one entry per Gateway the policy takes effect on, with
	// conditions Accepted and ResolvedRefs.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Ancestors []gatewayv1.PolicyAncestorStatus `json:"ancestors,omitempty"`
	// PinCount is the number of distinct pins in force, pinsFrom included.
	//
	// +optional
	PinCount int32 `json:"pinCount,omitempty"`
	// PEMPins are the pins of the PEM certificates pinsFrom reads now.
	// They are the memory of renewals: when a certificate leaves its key,
	// the next translation finds its pin here and moves it to
	// RetiringPins. Pin lists are never listed (see keepPrevious).
	//
	// +optional
	// +kubebuilder:validation:MaxItems=256
	PEMPins []SourcePin `json:"pemPins,omitempty"`
	// RetiringPins are pins of PEM certificates their key no longer holds,
	// still accepted until their expiry (keepPrevious).
	//
	// +optional
	// +kubebuilder:validation:MaxItems=256
	RetiringPins []RetiringPin `json:"retiringPins,omitempty"`
}

// SourcePin is a pin and the pinsFrom entry it was read from.
type SourcePin struct {
	// Pin is the pin text: "sha256:<hex>" or "spki-sha256:<base64>".
	//
	// +kubebuilder:validation:MaxLength=128
	Pin string `json:"pin"`
	// Source is the pinsFrom entry, "spec.pinsFrom[<index>]".
	//
	// +kubebuilder:validation:MaxLength=64
	Source string `json:"source"`
}

// RetiringPin is a pin whose certificate left its PEM source, accepted
// until Expires.
type RetiringPin struct {
	SourcePin `json:",inline"`
	// Expires is when the pin stops being accepted.
	Expires metav1.Time `json:"expires"`
}

// ClientCertPolicyList is a list of ClientCertPolicy.
//
// +kubebuilder:object:root=true
type ClientCertPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClientCertPolicy `json:"items"`
}
