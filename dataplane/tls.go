package dataplane

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/dataplane/trust"
)

// ticketKeyLifetime is how long a session ticket key encrypts new tickets.
// Keys are kept across snapshots, so a client resumes its session after a
// configuration change (and is then judged by the new configuration, since
// requirements are checked per request); they are replaced after this long
// so that a leaked key exposes a bounded window of sessions.
const ticketKeyLifetime = 12 * time.Hour

// ticketKeys returns the session ticket keys for the configurations being
// compiled: the current key first, then the previous one, so tickets issued
// just before a rotation still resume.
func (d *Dataplane) ticketKeys(now time.Time) ([][32]byte, error) {
	if d.ticketKey == nil || now.Sub(d.ticketKeyBorn) > ticketKeyLifetime {
		var k [32]byte
		if _, err := rand.Read(k[:]); err != nil {
			return nil, err
		}
		if d.ticketKey != nil {
			d.ticketPrev = d.ticketKey
		}
		d.ticketKey, d.ticketKeyBorn = &k, now
	}
	keys := [][32]byte{*d.ticketKey}
	if d.ticketPrev != nil {
		keys = append(keys, *d.ticketPrev)
	}
	return keys, nil
}

// listenerTLS builds the handshake configuration of one HTTPS listener.
//
// Client certificates: Gateway API frontend validation, when configured,
// decides alone. AllowValidOnly verifies the chain in the handshake, so a
// client without a valid certificate never gets a connection.
// AllowInsecureFallback accepts any client. Without frontend validation,
// a port where any route has a requirement asks for a certificate with
// tls.RequestClientCert: the handshake neither requires nor verifies it,
// because one port serves routes with different requirements (and routes
// with none), and a handshake failure would close the whole port to a
// client that only one route refuses. Each request is judged against its
// own route's requirement instead. VerifyClientCertIfGiven would be wrong
// here: it fails the handshake for a certificate the port's CA set does
// not know, even on routes that pin that very certificate.
//
// The returned profile identifies these client certificate settings; a
// request whose Host belongs to a listener with another profile than the
// one its handshake used gets 421.
func listenerTLS(l *snapshot.Listener, requestCert bool, ticketKeys [][32]byte) (*tls.Config, string, error) {
	cfg := &tls.Config{
		// TLS 1.0 and 1.1 are deprecated (RFC 8996). Cipher suites and
		// their order are Go's defaults, which prefer forward secrecy and
		// AEADs; crypto/tls servers never renegotiate.
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
	}
	for i, c := range l.TLS.Certificates {
		pair, err := tls.X509KeyPair(c.CertPEM, c.Key.Bytes())
		if err != nil {
			return nil, "", fmt.Errorf("tls.certificates[%d] (%s): %w", i, c.Name, err)
		}
		cfg.Certificates = append(cfg.Certificates, pair)
	}
	cfg.SetSessionTicketKeys(ticketKeys)
	profile := "none"
	switch v := l.TLS.FrontendValidation; {
	case v != nil:
		pool, digest, err := caPool(v.CACertificates)
		if err != nil {
			return nil, "", fmt.Errorf("tls.frontendValidation.%w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		if v.Mode == snapshot.AllowInsecureFallback {
			cfg.ClientAuth = tls.RequestClientCert
		}
		profile = string(v.Mode) + "/" + digest
	case requestCert:
		cfg.ClientAuth = tls.RequestClientCert
		profile = "request"
	}
	return cfg, profile, nil
}

// caPool parses CA certificates, strictly, into a pool and a digest of
// their content.
func caPool(cas []snapshot.CACertificate) (*x509.CertPool, string, error) {
	if len(cas) == 0 {
		return nil, "", errors.New("no CA certificates")
	}
	pool := x509.NewCertPool()
	if err := trust.AddToPool(pool, cas); err != nil {
		return nil, "", err
	}
	h := sha256.New()
	for _, ca := range cas {
		h.Write(ca.PEM)
	}
	return pool, hex.EncodeToString(h.Sum(nil)), nil
}
