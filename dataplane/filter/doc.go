// Package filter compiles the HTTPRoute filters of one rule into a Chain and
// applies them to requests and responses.
//
// Compile runs once per snapshot and does every check the Gateway API leaves
// to the implementation, so a bad filter fails the rule with an error that
// names the field ("filters[2].requestRedirect.statusCode: ..."), never a
// request. The per-request methods only read the compiled Chain; they take
// no locks and a Chain is safe for concurrent use.
//
// The proxy handler calls them in this order, after the router has matched
// the rule:
//
//  1. CORS answers preflight requests, before the client certificate check:
//     browsers send preflights without credentials, and a TLS client
//     certificate is a credential, so checking it would fail every
//     preflight. A preflight answer only reveals the CORS configuration.
//     For other requests CORS puts the CORS response headers on w.
//  2. The client certificate requirement of the rule.
//  3. Redirect: answer with Location and the status code, do not proxy.
//  4. ModifyRequest on the outgoing request (URLRewrite and
//     RequestHeaderModifier, in filter order), then Mirrors for the copies.
//  5. ModifyBackendResponse on the backend's response, or ModifyResponse on
//     any response the gateway writes itself (redirects, errors).
//
// The Gateway API says filters SHOULD apply in the order they are listed;
// this package keeps that order among the request modifiers. The other
// kinds act at different moments of the exchange, so their relative order
// in the list cannot matter.
package filter
