// Package pipeline is the part of certgate both sources share: it turns a
// burst of changes into one translation, and a translation into an applied
// snapshot, without letting a bad update take down the process or the
// configuration that is serving.
//
//	source ──changes──► Debouncer ──► Runner.Run: Translate ──► Dataplane.Apply
//	                                                │
//	                                                └──► Publish (statuses)
package pipeline
