package snapshot

import (
	"time"

	"github.com/certgate/certgate/dataplane/pin"
)

// Snapshot is the data plane's whole configuration.
type Snapshot struct {
	// Listeners are the Gateway listeners to serve. Listeners that share an
	// address and port share one socket; SNI and the Host header pick among
	// them.
	Listeners []Listener `json:"listeners"`
}

// Protocol is the application protocol a listener speaks to clients.
type Protocol string

// Listener protocols.
const (
	ProtocolHTTP  Protocol = "HTTP"
	ProtocolHTTPS Protocol = "HTTPS"
	// ProtocolTLS carries TLSRoutes: a byte stream, routed by SNI. It may
	// share a socket with HTTPS listeners; the ClientHello's SNI picks the
	// listener before anything is terminated.
	ProtocolTLS Protocol = "TLS"
)

// TLSMode is how a TLS listener treats the client's TLS.
type TLSMode string

// TLS listener modes, as Gateway API names them.
const (
	// TLSPassthrough routes by SNI and relays the client's TLS, untouched,
	// to the backend, which terminates it.
	TLSPassthrough TLSMode = "Passthrough"
	// TLSTerminate terminates TLS with the listener's certificates and
	// relays the plaintext stream to the backend (re-encrypted when the
	// backend has TLS).
	TLSTerminate TLSMode = "Terminate"
)

// Listener is one Gateway listener.
type Listener struct {
	// Name identifies the listener: "namespace/gateway/listener".
	Name string `json:"name"`
	// Gateway is "namespace/name" of the Gateway that owns the listener; it
	// is the gateway label of request metrics and access logs.
	Gateway string `json:"gateway"`
	// Address is the IP address to bind; empty binds all interfaces.
	Address string `json:"address,omitempty"`
	// Port is the TCP port to bind.
	Port int32 `json:"port"`
	// PublicPort is the port clients connect to, when something in front
	// (a Service) maps it to Port; 0 means Port. A redirect that keeps the
	// request's port uses it, so a client is never sent to a port it
	// cannot reach.
	PublicPort int32 `json:"publicPort,omitempty"`
	// Protocol is HTTP, HTTPS or TLS.
	Protocol Protocol `json:"protocol"`
	// TLSMode is Passthrough or Terminate on a TLS listener, empty on the
	// others.
	TLSMode TLSMode `json:"tlsMode,omitempty"`
	// Hostname limits the listener to one host name or a wildcard
	// ("*.example.com"). Empty matches every host.
	Hostname string `json:"hostname,omitempty"`
	// TLS is required for HTTPS listeners and TLS listeners in Terminate
	// mode, and forbidden for the others.
	TLS *ListenerTLS `json:"tls,omitempty"`
	// Routes are the routes attached to this listener, their hostnames
	// already intersected with the listener's.
	Routes []Route `json:"routes,omitempty"`
}

// ListenerTLS is the TLS configuration of an HTTPS listener.
type ListenerTLS struct {
	// Certificates are the serving certificates. With several (an RSA and an
	// ECDSA one, say) the handshake picks the one the client supports.
	Certificates []Certificate `json:"certificates"`
	// FrontendValidation is Gateway API frontend client certificate
	// validation (GEP-91) for this listener's port. Nil means none.
	FrontendValidation *FrontendValidation `json:"frontendValidation,omitempty"`
}

// FrontendValidationMode is how a listener port treats client certificates
// that do not verify against its CA certificates.
type FrontendValidationMode string

// Frontend validation modes, as Gateway API names them.
const (
	// AllowValidOnly fails the handshake without a certificate that chains to
	// one of the CA certificates.
	AllowValidOnly FrontendValidationMode = "AllowValidOnly"
	// AllowInsecureFallback accepts the connection whatever the client sends.
	AllowInsecureFallback FrontendValidationMode = "AllowInsecureFallback"
)

// FrontendValidation is GEP-91 client certificate validation for a port.
type FrontendValidation struct {
	Mode FrontendValidationMode `json:"mode"`
	// CACertificates are the trust anchors, PEM.
	CACertificates []CACertificate `json:"caCertificates"`
}

// Certificate is a certificate chain with its private key.
type Certificate struct {
	// Name identifies the source: "namespace/secret". It is the name label
	// of the certificate expiry metric.
	Name string `json:"name"`
	// CertPEM is the leaf first, then intermediates.
	CertPEM []byte `json:"certPEM"`
	// Key is the PEM private key of the leaf.
	Key PrivateKey `json:"key"`
}

// CACertificate is a set of trust anchors from one source.
type CACertificate struct {
	// Name identifies the source: "namespace/configmap" or
	// "namespace/secret".
	Name string `json:"name"`
	// PEM holds one or more certificates.
	PEM []byte `json:"pem"`
}

// Route is one HTTPRoute, GRPCRoute or TLSRoute as attached to one
// listener. A TLSRoute has one rule, without matches or filters: its hostnames
// (matched against the SNI) select it.
type Route struct {
	// Kind is empty for an HTTPRoute.
	Kind      RouteKind `json:"kind,omitempty"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	// CreationTimestamp orders routes whose matches tie: the oldest wins.
	CreationTimestamp time.Time `json:"creationTimestamp"`
	// Hostnames are the route's effective hostnames on this listener. Empty
	// means every hostname the listener accepts.
	Hostnames []string `json:"hostnames,omitempty"`
	Rules     []Rule   `json:"rules"`
}

// Rule is one HTTPRoute rule.
type Rule struct {
	// Name is the rule's sectionName; empty when the rule has none.
	Name string `json:"name,omitempty"`
	// Matches are ORed. Empty means one match of PathPrefix "/".
	Matches []Match `json:"matches,omitempty"`
	// Filters apply in order.
	Filters []Filter `json:"filters,omitempty"`
	// Backends share the traffic by weight. A rule without backends and
	// without a redirect answers 500.
	Backends []WeightedBackend `json:"backends,omitempty"`
	Timeouts Timeouts          `json:"timeouts,omitzero"`
	Retry    *Retry            `json:"retry,omitempty"`
	// ClientCert is what this rule asks of the client certificate. Nil
	// means nothing.
	ClientCert *Requirement `json:"clientCert,omitempty"`
}

// Label returns the rule label used in metrics and logs: the rule's name, or
// its index when it has none.
func (r Rule) Label(index int) string {
	if r.Name != "" {
		return r.Name
	}
	return itoa(index)
}

// PathMatchType is how a path match compares.
type PathMatchType string

// Path match types.
const (
	PathExact             PathMatchType = "Exact"
	PathPrefix            PathMatchType = "PathPrefix"
	PathRegularExpression PathMatchType = "RegularExpression"
)

// MatchType is how a header or query parameter match compares.
type MatchType string

// Header and query parameter match types.
const (
	MatchExact             MatchType = "Exact"
	MatchRegularExpression MatchType = "RegularExpression"
)

// Match is one HTTPRouteMatch: every condition must hold.
type Match struct {
	// Path is nil for "any path" (PathPrefix "/").
	Path        *PathMatch   `json:"path,omitempty"`
	Headers     []ValueMatch `json:"headers,omitempty"`
	QueryParams []ValueMatch `json:"queryParams,omitempty"`
	// Method is empty for any method.
	Method string `json:"method,omitempty"`
}

// PathMatch matches the normalised request path.
type PathMatch struct {
	Type  PathMatchType `json:"type"`
	Value string        `json:"value"`
}

// ValueMatch matches a header or a query parameter by name.
type ValueMatch struct {
	Type  MatchType `json:"type"`
	Name  string    `json:"name"`
	Value string    `json:"value"`
}

// Timeouts are HTTPRoute rule timeouts; zero means none.
type Timeouts struct {
	// Request bounds the whole request, retries included.
	Request time.Duration `json:"request,omitempty"`
	// BackendRequest bounds one attempt to a backend.
	BackendRequest time.Duration `json:"backendRequest,omitempty"`
}

// Retry is an HTTPRoute rule retry policy.
type Retry struct {
	// Codes are the response codes that cause a retry; connection errors
	// always do.
	Codes []int `json:"codes,omitempty"`
	// Attempts is the number of retries after the first attempt.
	Attempts int           `json:"attempts"`
	Backoff  time.Duration `json:"backoff,omitempty"`
}

// RequirementMode is whether a requirement rejects or only counts.
type RequirementMode string

// Requirement modes.
const (
	ModeEnforce RequirementMode = "Enforce"
	ModeAudit   RequirementMode = "Audit"
)

// ForwardClientCert is what passing requests carry upstream about the
// client certificate.
type ForwardClientCert string

// Forwarding formats.
const (
	ForwardNone    ForwardClientCert = "None"
	ForwardXFCC    ForwardClientCert = "XFCC"
	ForwardRFC9440 ForwardClientCert = "RFC9440"
)

// SANType is the kind of subject alternative name to match.
type SANType string

// SAN types.
const (
	SANDNS   SANType = "DNS"
	SANURI   SANType = "URI"
	SANEmail SANType = "Email"
)

// SANMatch matches one subject alternative name exactly.
type SANMatch struct {
	Type  SANType `json:"type"`
	Value string  `json:"value"`
}

// Requirement is what a route asks of the client certificate presented on
// the connection. A request passes when every configured check holds.
type Requirement struct {
	// Policy is "namespace/name" of the ClientCertPolicy it comes from.
	Policy string `json:"policy"`
	// Invalid, when not empty, says why the policy could not be resolved.
	// Such a requirement rejects every request (reason policy_invalid).
	Invalid string `json:"invalid,omitempty"`
	// Pins: the leaf must match one of them, when any are given.
	Pins []pin.Pin `json:"pins,omitempty"`
	// RetiringPins also satisfy the pin check, each until its Expires: the
	// pins a renewed PEM source no longer holds, kept for the policy's
	// keepPrevious. The data plane compares Expires with the time of each
	// request, so a retired certificate is refused once its grace period
	// ends, on an open connection too, without a new snapshot. They count
	// only where Pins is not empty: they widen a pin check, never create
	// one.
	RetiringPins []RetiringPin `json:"retiringPins,omitempty"`
	// CACertificates: the chain must verify to one of them for client
	// authentication, when any are given.
	CACertificates []CACertificate `json:"caCertificates,omitempty"`
	// SubjectAltNames: the leaf must carry one of them, when any are given.
	SubjectAltNames []SANMatch `json:"subjectAltNames,omitempty"`
	// AllowExpired accepts a leaf outside its validity period.
	AllowExpired bool `json:"allowExpired,omitempty"`
	// Mode is Enforce or Audit; empty means Enforce.
	Mode              RequirementMode   `json:"mode,omitempty"`
	ForwardClientCert ForwardClientCert `json:"forwardClientCert,omitempty"`
	// PathConfusionGuard is Enabled or Disabled; empty means Enabled, so a
	// requirement that does not say keeps the guard (fail closed).
	PathConfusionGuard PathConfusionGuard `json:"pathConfusionGuard,omitempty"`
}

// RetiringPin is a pin accepted until Expires.
type RetiringPin struct {
	Pin     pin.Pin   `json:"pin"`
	Expires time.Time `json:"expires"`
}

// PathConfusionGuard says whether requests whose folded path selects a
// rule are judged against its requirement even when the path as sent
// matched another rule (see the router package's Guard).
type PathConfusionGuard string

// Guard settings.
const (
	GuardEnabled  PathConfusionGuard = "Enabled"
	GuardDisabled PathConfusionGuard = "Disabled"
)

// AppProtocol is the protocol spoken to a backend.
type AppProtocol string

// Backend protocols, from the Service port's appProtocol.
const (
	AppProtocolHTTP AppProtocol = ""
	// AppProtocolH2C is HTTP/2 over cleartext (kubernetes.io/h2c).
	AppProtocolH2C AppProtocol = "kubernetes.io/h2c"
	// AppProtocolWebSocket is HTTP/1.1 with WebSocket upgrades
	// (kubernetes.io/ws).
	AppProtocolWebSocket AppProtocol = "kubernetes.io/ws"
)

// WeightedBackend is a backend with its share of a rule's traffic.
type WeightedBackend struct {
	Backend `json:",inline"`
	// Weight is relative to the rule's other backends; 0 sends nothing.
	Weight int32 `json:"weight"`
}

// Backend is a Service port and its endpoints.
type Backend struct {
	// Name identifies the backend: "namespace/service:port".
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	Port      int32  `json:"port"`
	// Invalid, when not empty, says why the reference could not be
	// resolved; requests sent to this backend get 500.
	Invalid     string      `json:"invalid,omitempty"`
	AppProtocol AppProtocol `json:"appProtocol,omitempty"`
	Endpoints   []Endpoint  `json:"endpoints,omitempty"`
	// TLS, when set, makes connections to the backend TLS.
	TLS *BackendTLS `json:"tls,omitempty"`
}

// Endpoint is one address of a backend.
type Endpoint struct {
	Address string `json:"address"`
	Port    int32  `json:"port"`
}

// BackendTLS is how the gateway connects to a backend over TLS.
type BackendTLS struct {
	// ServerName is sent as SNI and verified against the backend's
	// certificate unless SubjectAltNames are given.
	ServerName string `json:"serverName"`
	// CACertificates verify the backend; empty with UseSystemRoots false
	// fails every connection.
	CACertificates []CACertificate `json:"caCertificates,omitempty"`
	// UseSystemRoots verifies the backend against the system trust store.
	UseSystemRoots bool `json:"useSystemRoots,omitempty"`
	// SubjectAltNames, when given, replace the ServerName check: the
	// backend's certificate must carry one of them.
	SubjectAltNames []BackendSAN `json:"subjectAltNames,omitempty"`
	// ClientCertificate is presented to the backend, when set.
	ClientCertificate *Certificate `json:"clientCertificate,omitempty"`
}

// BackendSANType is the kind of a BackendTLSPolicy subject alternative name.
type BackendSANType string

// Backend SAN types, as BackendTLSPolicy names them.
const (
	BackendSANHostname BackendSANType = "Hostname"
	BackendSANURI      BackendSANType = "URI"
)

// BackendSAN is one acceptable subject alternative name of a backend.
type BackendSAN struct {
	Type  BackendSANType `json:"type"`
	Value string         `json:"value"`
}
