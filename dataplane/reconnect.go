package dataplane

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
)

// A port asks for client certificates only while a route on it has a
// requirement (listenerTLS), so a connection made before the first
// requirement arrived carries no certificate, whatever the client holds:
// its handshake never asked. Judging its requests would refuse a pinned
// client for as long as it kept the connection open. Such a request gets
// 421 instead, and the connection is closed: the client's retry opens a
// new connection, whose handshake asks, and is judged on what it presents.

// handshakeKey holds, in a TLS connection's context, the connection that
// records the listener its handshake chose (countedConn.listener).
type handshakeKey struct{}

// withHandshake gives a TLS connection's context the record of its
// handshake.
func withHandshake(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		if cc, ok := counted(tc.NetConn()); ok {
			return context.WithValue(ctx, handshakeKey{}, cc)
		}
	}
	return ctx
}

// neverAsked reports whether r came on a connection whose handshake asked
// for no client certificate.
func neverAsked(r *http.Request) bool {
	cc, ok := r.Context().Value(handshakeKey{}).(*countedConn)
	return ok && cc.listener != nil && cc.listener.tls != nil && cc.listener.tls.ClientAuth == tls.NoClientCert
}

// reconnect answers 421 and closes the connection after the answer (an
// HTTP/2 connection with a GOAWAY, letting its other streams finish).
func reconnect(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	answer(w, http.StatusMisdirectedRequest)
}
