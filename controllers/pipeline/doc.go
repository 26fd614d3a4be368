// Package pipeline is the part of certgate both sources share: it turns a
// burst of changes into one translation, and a translation into an applied
// snapshot, without letting a bad update take down the process or the
// configuration that is serving.
//
//	source ──changes──► Debouncer ──► Runner.Run: Translate ──► Dataplane.Apply
//	                                                │
//	                                                └──► Publish (statuses)
//
// The Runner is also where the serving certificates of the last applied
// snapshot are remembered between translations, so that a Secret edited
// into something unusable leaves its listener serving the certificate it
// held (controllers/translator/lastgood.go); the translator itself keeps
// no state.
package pipeline
