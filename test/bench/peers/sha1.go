package main

import (
	"crypto/sha1" //nolint:gosec // nginx's $ssl_client_fingerprint is SHA-1; the bench computes the same value.
	"encoding/hex"
)

// sha1Hex is the SHA-1 of der as nginx prints $ssl_client_fingerprint.
func sha1Hex(der []byte) string {
	s := sha1.Sum(der) //nolint:gosec // see import
	return hex.EncodeToString(s[:])
}
