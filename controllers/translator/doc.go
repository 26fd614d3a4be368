// Package translator turns Gateway API resources into a data plane snapshot
// and the status of every object it read.
//
// Translate is a pure function: resources and options in, snapshot and
// statuses out. It takes no client, reads no clock (the time is an
// option) and draws no random numbers, and its output is sorted, so the
// same input gives byte-identical output. Both the Kubernetes provider and
// the file provider call it.
//
// It runs in stages, in the order translator.go's stages list them, each
// starting in its own file:
//
//	translateGatewayClasses      gatewayclass.go      GatewayClasses of this controller: Accepted, supported features
//	translateGateways            gateway.go           Gateways and their listeners: addresses, TLS, frontend validation
//	translateHTTPRoutes          httproute.go         HTTPRoutes: attachment to listeners, rules, filters, statuses;
//	                             backend.go           their backendRefs: Services, EndpointSlices, ReferenceGrants
//	translateGRPCRoutes          grpcroute.go         GRPCRoutes, as HTTPRoute rules matching gRPC calls (grpcmatch.go);
//	                             kindconflict.go      an HTTPRoute and a GRPCRoute cannot share a listener hostname
//	translateBackendTLS          backendtls.go        BackendTLSPolicy and the Gateway's backend client certificate
//	translateClientCertPolicies  clientcertpolicy.go  ClientCertPolicy: client certificate requirements per rule
//
// A later stage may read what an earlier one built (the snapshot being
// assembled and the statuses so far) and add to it. The policy stages
// walk the snapshot through the gateway stage's listener state
// (snapshotwalk.go), so a rule's Gateway and listener are typed fields,
// never parsed back out of the snapshot's names.
//
// The tests are golden files: testdata/NAME.in.yaml holds the input
// objects, added to those of testdata/base.yaml whose kind it does not
// declare (the GatewayClass), testdata/NAME.options.yaml, when present,
// the Options, and testdata/NAME.out.yaml the expected snapshot and
// statuses (key material redacted). A mismatch is shown as a structural
// diff; `go test ./controllers/translator -update` rewrites the expected
// files.
package translator
