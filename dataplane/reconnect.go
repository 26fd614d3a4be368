package dataplane

import (
	"crypto/tls"
	"net/http"
)

// A port asks for client certificates only while a route on it has a
// requirement (listenerTLS), so a connection made before the first
// requirement arrived carries no certificate, whatever the client holds:
// its handshake never asked. Judging its requests would refuse a pinned
// client for as long as it kept the connection open. Such a request gets
// 421 instead, and the connection is closed: the client's retry opens a
// new connection, whose handshake asks, and is judged on what it presents.

// neverAsked reports whether r came on a connection whose handshake asked
// for no client certificate.
func neverAsked(r *http.Request) bool {
	cs, ok := r.Context().Value(connKey{}).(*connState)
	if !ok || cs.handshake == nil {
		return false
	}
	l := cs.handshake.listener
	return l != nil && l.tls != nil && l.tls.ClientAuth == tls.NoClientCert
}

// reconnect answers 421 and closes the connection after the answer (an
// HTTP/2 connection with a GOAWAY, letting its other streams finish).
func reconnect(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	answer(w, http.StatusMisdirectedRequest)
}
