// Package snapshot defines the data plane's whole configuration: listeners,
// their TLS material, the routes attached to them, backends, client
// certificate requirements and backend TLS.
//
// A Snapshot is built by a source (the translator, or a test), validated with
// Validate, and handed to the data plane, which compiles it before it serves
// a single request from it. Once handed over, a Snapshot must not be
// modified.
//
// Key material is held in PrivateKey, whose text forms are redacted, so a
// snapshot can be logged, dumped or written to a golden file without leaking
// a private key.
package snapshot
