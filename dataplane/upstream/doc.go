// Package upstream carries requests from the gateway to backends: one
// tuned http.Transport per (backend, protocol, TLS identity), with a direct
// path in front of it for bodiless GET, HEAD and OPTIONS to plaintext
// HTTP/1.1 backends (direct.go), backend TLS
// built from a BackendTLSPolicy, endpoint and weighted-backend balancing,
// and the retry loop of an HTTPRoute rule.
//
// The data plane uses it in two phases.
//
// At compile time (inside Dataplane.Apply, serialised by its lock):
//
//	u, err := pool.Upstream(&rule.Backends[i].Backend) // error: reject the snapshot
//	w := upstream.NewWeighted(rule.Backends)
//	p := upstream.NewRetryPolicy(rule.Retry, rule.Timeouts)
//	rt := &upstream.RetryTransport{Upstream: u, Policy: p}
//
// and, after the compiled snapshot has been swapped in, pool.Sweep() retires
// the transports the new snapshot no longer uses.
//
// At request time nothing here locks or allocates per pick: Weighted.Pick
// chooses the backend, and RetryTransport (the Transport of the
// httputil.ReverseProxy for that backend) picks an endpoint per attempt and
// retries as the rule says.
//
// Connections are pooled per TLS identity: a rotated client certificate or
// CA changes the identity, so the next snapshot gets a fresh transport with
// fresh connections, while requests already in flight finish on the old one.
package upstream
