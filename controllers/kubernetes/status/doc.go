// Package status writes the statuses a translation computes onto the
// Gateway API objects and ClientCertPolicies, while this replica leads.
//
// Writes merge into the object as the API server holds it: entries of
// other controllers are kept in place, and a condition that did not
// change keeps its lastTransitionTime, so an unchanged translation writes
// nothing (statusmerge.go). Only the latest translation is written; a
// newer one replaces one not yet written.
package status
