// Package kubernetes is certgate's Kubernetes provider: it watches the
// Gateway API objects, ClientCertPolicies and the core objects they refer
// to through controller-runtime informers, turns each burst of changes into
// one resources.Resources, and hands it to the shared pipeline
// (translate, then apply to the data plane). It also writes the statuses
// the translator computes, and runs the leader election that decides which
// replica writes them.
//
//	informers ──events──► Debouncer ──► list caches ──► pipeline.Runner ──► data plane
//	                                                        │
//	                                                        └──► status writer (leader only)
//
// Every replica serves traffic. Leadership gates status writes only; losing
// the lease never stops the data plane (see leader.go).
package kubernetes
