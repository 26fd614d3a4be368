// Package provider is certgate's Kubernetes provider: it watches the
// Gateway API objects, ClientCertPolicies and the core objects they refer
// to through controller-runtime informers, turns each burst of changes into
// one resources.Resources, and hands it to the shared pipeline
// (translate, then apply to the data plane). It hands each translation to
// the status writer (package status), which writes the statuses while this
// replica leads; package leader runs the election that decides that, and
// package gatewayservice provisions the Gateways' Services in that mode.
//
//	informers ──events──► Debouncer ──► list caches ──► pipeline.Runner ──► data plane
//	                                                        │
//	                                                        └──► status writer (leader only)
//
// Every replica serves traffic. Leadership gates status writes only; losing
// the lease never stops the data plane (see package leader).
package provider
