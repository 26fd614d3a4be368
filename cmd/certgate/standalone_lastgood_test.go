package main

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testnet"
	"github.com/certgate/certgate/internal/testpki"
)

// TestStandaloneKeepsTheLastGoodServingCertificate edits the serving
// Secret's file into a key that does not parse: the listener keeps
// handshaking with the certificate it served, /status says why, and a
// valid certificate written next is served.
func TestStandaloneKeepsTheLastGoodServingCertificate(t *testing.T) {
	const host = "api.example.test"
	ca := testpki.NewCA(t, "standalone CA")
	first := ca.Issue(t, testpki.Options{CommonName: "first", DNSNames: []string{host}})
	renewed := ca.Issue(t, testpki.Options{CommonName: "renewed", DNSNames: []string{host}})
	dir, port := t.TempDir(), testnet.FreePort(t)
	writeServing := func(cert, key []byte) {
		enc := base64.StdEncoding.EncodeToString
		writeConfigFile(t, dir, "gateway.yaml", fmt.Sprintf(httpsGatewayYAML, port, enc(cert), enc(key)))
	}
	writeServing(first.CertPEM, first.KeyPEM)
	_, statusURL, _, _ := startStandaloneWithLog(t, dir, port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	eventually(t, 5*time.Second, "the first certificate is served", func() bool { return servedCommonName(ca, host, addr) == "first" })

	writeServing(first.CertPEM, first.KeyPEM[:len(first.KeyPEM)/2]) // a truncated PEM
	eventually(t, 5*time.Second, "/status says the last good certificate is served", func() bool {
		return strings.Contains(get(statusURL), "keeps serving the last good certificate from this Secret")
	})
	if got := servedCommonName(ca, host, addr); got != "first" {
		t.Errorf("with the key unparsable, the listener serves %q, want first", got)
	}
	if report := get(statusURL); !strings.Contains(report, "Secret default/serving does not hold a usable certificate and key: tls.key holds no parsable PEM private key") {
		t.Errorf("/status does not name the Secret and the problem:\n%s", report)
	}

	writeServing(renewed.CertPEM, renewed.KeyPEM)
	eventually(t, 5*time.Second, "the renewed certificate is served", func() bool { return servedCommonName(ca, host, addr) == "renewed" })
}

// servedCommonName is the common name of the certificate addr presents
// for host, "" when the handshake fails.
func servedCommonName(ca *testpki.CA, host, addr string) string {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second}, Config: &tls.Config{RootCAs: ca.Pool(), ServerName: host, MinVersion: tls.VersionTLS12}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return ""
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0].Subject.CommonName
}
