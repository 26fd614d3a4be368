package translator

import (
	"slices"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/features"
)

// supportedFeatures are the Gateway API features certgate implements, as
// its GatewayClasses report them in status.supportedFeatures. A feature is
// listed only when both the translator and the data plane implement it and
// its conformance tests are expected to pass; claiming one we do not
// implement would make the conformance suite run tests we fail.
var supportedFeatures = []features.FeatureName{
	// Core: Gateways of HTTP and HTTPS listeners.
	features.SupportGateway,
	// Listeners on port 8080 (nothing special: any port binds).
	features.SupportGatewayPort8080,
	// A request is matched only against routes of the most specific
	// listener for its host (router host index).
	features.SupportGatewayHTTPListenerIsolation,
	// spec.tls.frontend (GEP-91): AllowValidOnly handshakes.
	features.SupportGatewayFrontendClientCertificateValidation,
	// spec.tls.frontend mode AllowInsecureFallback.
	features.SupportGatewayFrontendClientCertificateValidationInsecureFallback,
	// spec.tls.backend.clientCertificateRef (GEP-3155): the Gateway's
	// identity on every TLS connection to a backend. The module declares
	// this constant untyped, hence the conversion.
	features.FeatureName(features.SupportGatewayBackendClientCertificate),
	// Core: HTTPRoute.
	features.SupportHTTPRoute,
	// Cross-namespace certificate, CA and backend references.
	features.SupportReferenceGrant,
	// BackendTLSPolicy: CA refs or system roots, hostname (backendtls.go).
	features.SupportBackendTLSPolicy,
	// BackendTLSPolicy subjectAltNames: the snapshot carries them and the
	// upstream TLS verifier checks them.
	features.SupportBackendTLSPolicySANValidation,
	// Matching.
	features.SupportHTTPRouteQueryParamMatching,
	features.SupportHTTPRouteMethodMatching,
	// Filters.
	features.SupportHTTPRouteResponseHeaderModification,
	features.SupportHTTPRoutePortRedirect,
	features.SupportHTTPRouteSchemeRedirect,
	features.SupportHTTPRoutePathRedirect,
	features.SupportHTTPRoute303RedirectStatusCode,
	features.SupportHTTPRoute307RedirectStatusCode,
	features.SupportHTTPRoute308RedirectStatusCode,
	features.SupportHTTPRouteHostRewrite,
	features.SupportHTTPRoutePathRewrite,
	features.SupportHTTPRouteRequestMirror,
	// Several RequestMirror filters on one rule each get a copy.
	features.SupportHTTPRouteRequestMultipleMirrors,
	// RequestMirror percent and fraction.
	features.SupportHTTPRouteRequestPercentageMirror,
	features.SupportHTTPRouteCORS,
	// Timeouts and retries (dataplane/upstream: a timed-out attempt and a
	// connection error are both retried).
	features.SupportHTTPRouteRequestTimeout,
	features.SupportHTTPRouteBackendTimeout,
	features.SupportHTTPRouteRetry,
	features.SupportHTTPRouteRetryBackendTimeout,
	features.SupportHTTPRouteRetryConnectionError,
	// Backend protocols from the Service port's appProtocol.
	features.SupportHTTPRouteBackendProtocolH2C,
	features.SupportHTTPRouteBackendProtocolWebSocket,
	// parentRefs[].port selects listeners by port.
	features.SupportHTTPRouteParentRefPort,
	// rules[].name becomes the snapshot rule name and a policy section.
	features.SupportHTTPRouteNamedRouteRule,
	// Core: GRPCRoute (grpcroute.go), and its rules[].name, a snapshot rule
	// name and a policy section like an HTTPRoute's.
	features.SupportGRPCRoute,
	features.SupportGRPCRouteNamedRouteRule,
	// TLSRoute on TLS listeners (tlsroute.go, dataplane/stream.go):
	// Passthrough by SNI, Terminate with a plaintext or re-encrypted
	// stream to the backend, and both modes on one port.
	features.SupportTLSRoute,
	features.SupportTLSRouteModeTerminate,
	features.SupportTLSRouteModeMixed,
	// Not claimed: HTTPRouteDestinationPortMatching and
	// HTTPRouteBackendRequestHeaderModification (no backendRef filters in
	// the snapshot), GatewayStaticAddresses (one bound address per Gateway),
	// GatewayInfrastructure, ListenerSet, and the mesh, TCP and UDP
	// route features.
}

// supportedFeatureList is supportedFeatures as GatewayClass status wants
// it: sorted by name.
func supportedFeatureList() []gatewayv1.SupportedFeature {
	out := make([]gatewayv1.SupportedFeature, 0, len(supportedFeatures))
	for _, f := range supportedFeatures {
		out = append(out, gatewayv1.SupportedFeature{Name: gatewayv1.FeatureName(f)})
	}
	slices.SortFunc(out, func(a, b gatewayv1.SupportedFeature) int {
		return compareStrings(string(a.Name), string(b.Name))
	})
	return out
}
