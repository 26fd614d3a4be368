package clientcert

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// BenchmarkPinCheck checks a connection's certificate against requirements
// of 1, 100 and 10,000 pins: a map lookup per algorithm, so the time is
// flat and nothing is allocated.
func BenchmarkPinCheck(b *testing.B) {
	ca := testpki.NewCA(b, "bench CA")
	client := ca.Issue(b, testpki.Options{CommonName: "client"})
	peer := NewPeer(client.PeerState())
	fp, _ := peer.Fingerprints()
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("pins=%d", n), func(b *testing.B) {
			pins := make([]pin.Pin, 0, n)
			for range n - 1 {
				d := make([]byte, 32)
				_, _ = rand.Read(d)
				pins = append(pins, pin.Pin{Algorithm: pin.SHA256, Digest: d})
			}
			pins = append(pins, pin.Pin{Algorithm: pin.SPKISHA256, Digest: fp.SPKISHA256[:]})
			req := Compile(&snapshot.Requirement{Policy: "bench/p", Pins: pins})
			now := time.Now()
			if r := req.Check(peer, now); r != "" {
				b.Fatalf("pinned certificate rejected: %s", r)
			}
			b.ReportAllocs()
			for b.Loop() {
				req.Check(peer, now)
			}
		})
	}
}

// BenchmarkHandshake measures full mTLS handshakes over loopback against a
// bare Go TLS server with the same certificates and client authentication
// mode, then the same handshake plus what certgate does once per
// connection: computing the client certificate's fingerprints. Compare
// the two ns/op (both ends' CPU, in one process); fingerprint-only is the
// added work alone.
func BenchmarkHandshake(b *testing.B) {
	ca := testpki.NewCA(b, "bench CA")
	serving := ca.Issue(b, testpki.Options{DNSNames: []string{"bench.example.com"}})
	client := ca.Issue(b, testpki.Options{CommonName: "client"})
	server := &tls.Config{Certificates: []tls.Certificate{*serving.TLS}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	clientCfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "bench.example.com", Certificates: []tls.Certificate{*client.TLS}, MinVersion: tls.VersionTLS12}
	for _, tc := range []struct {
		name        string
		fingerprint bool
	}{{"bare-go-tls", false}, {"certgate", true}} {
		b.Run(tc.name, func(b *testing.B) {
			addr := serveHandshakes(b, server, tc.fingerprint)
			for b.Loop() {
				c, err := tls.Dial("tcp", addr, clientCfg)
				if err != nil {
					b.Fatal(err)
				}
				// One byte back means the server finished its side.
				if _, err := c.Read(make([]byte, 1)); err != nil {
					b.Fatal(err)
				}
				_ = c.Close()
			}
		})
	}
	b.Run("fingerprint-only", func(b *testing.B) {
		state := client.PeerState()
		b.ReportAllocs()
		for b.Loop() {
			var c Conn
			c.Peer(state)
		}
	})
}

// serveHandshakes accepts connections on loopback, completes each
// handshake (fingerprinting the client certificate when asked), writes one
// byte and closes.
func serveHandshakes(b *testing.B, cfg *tls.Config, fingerprint bool) string {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s := conn.(*tls.Conn)
			if s.Handshake() == nil {
				if fingerprint {
					state := s.ConnectionState()
					var c Conn
					c.Peer(&state)
				}
				_, _ = s.Write([]byte{1})
			}
			_ = s.Close()
		}
	}()
	return ln.Addr().String()
}
