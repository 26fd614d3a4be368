// Package clientcert judges the client certificate presented on a
// connection against the requirement of the route a request matched.
//
// The listener asks for a certificate with tls.RequestClientCert, not
// tls.VerifyClientCertIfGiven: routes on one port have different
// requirements (different CAs, or pins and no CA at all), routes without a
// policy must stay open to clients without a certificate, and a pinned
// self-signed certificate would fail any handshake-time verification. So the
// handshake only collects what the client presents, and every request is
// judged here, against the requirement compiled from the current snapshot.
//
// The work is split by how often it has to happen:
//
//   - Compile runs once per configuration: it parses CA bundles and builds
//     pin sets, and turns anything it cannot use into a requirement that
//     fails closed.
//   - NewPeer (through Conn) runs once per connection: it computes the
//     certificate's fingerprints, so a pin check on each request is a map
//     lookup. A connection's certificates cannot change (certgate does not
//     renegotiate), so computing them again per request would only cost.
//   - Chain verification runs once per connection and requirement, cached in
//     the Peer; a new configuration compiles new requirements and so
//     verifies again.
//   - Check runs per request and re-checks pins, SANs and expiry, so a pin
//     removed by a new configuration rejects the next request on a
//     connection that is already open.
package clientcert
