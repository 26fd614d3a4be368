package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testconfig"
	"github.com/certgate/certgate/internal/testnet"
	"github.com/certgate/certgate/internal/testpki"
)

// httpsGatewayYAML is a Gateway with an HTTPS listener on 127.0.0.1:port
// serving the Secret "serving", whose certificate and key are the
// base64 arguments.
const httpsGatewayYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: certgate
  addresses:
  - value: 127.0.0.1
  listeners:
  - name: https
    protocol: HTTPS
    port: %d
    tls:
      certificateRefs:
      - name: serving
---
apiVersion: v1
kind: Secret
metadata:
  name: serving
type: kubernetes.io/tls
data:
  tls.crt: %s
  tls.key: %s
`

// pemPolicyYAML pins the route "api" to the certificate held, as PEM, by
// the ConfigMap below it; a replaced certificate keeps passing for the
// keepPrevious given as the first argument.
const pemPolicyYAML = `apiVersion: certgate.dev/v1alpha1
kind: ClientCertPolicy
metadata:
  name: apigw
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: api
  pinsFrom:
  - kind: ConfigMap
    name: apigw-client-certificate
    key: client.pem
    keepPrevious: %s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: apigw-client-certificate
data:
  client.pem: |
%s`

// TestPEMInAConfigMapPinsItsClient serves a route pinned by the PEM
// certificate in a ConfigMap, over real TLS: its client gets 200, another
// 403. Replacing the ConfigMap's certificate with the other client's
// swaps them, on a connection that was already open too, when the policy
// keeps no previous pin (keepPrevious 0s).
func TestPEMInAConfigMapPinsItsClient(t *testing.T) {
	const host = "api.example.test"
	ca := testpki.NewCA(t, "standalone CA")
	serving := ca.Issue(t, testpki.Options{DNSNames: []string{host}})
	apigw, other := ca.Issue(t, testpki.Options{CommonName: "api-gateway"}), ca.Issue(t, testpki.Options{CommonName: "other"})
	dir, port := writePEMPolicyConfig(t, serving, "0s", apigw)
	startStandalone(t, dir, port)

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	pinned, stranger := httpsClient(ca, apigw, host, addr), httpsClient(ca, other, host, addr)
	eventually(t, 5*time.Second, "the client whose PEM is in the ConfigMap gets 200", func() bool { return httpsStatus(pinned, host) == 200 })
	if code := httpsStatus(stranger, host); code != http.StatusForbidden {
		t.Errorf("another client: %d, want 403", code)
	}

	writeConfigFile(t, dir, "policy.yaml", fmt.Sprintf(pemPolicyYAML, "0s", indent(other.CertPEM)))
	eventually(t, 5*time.Second, "the client now in the ConfigMap gets 200", func() bool { return httpsStatus(stranger, host) == 200 })
	if code, reused := httpsStatusReused(pinned, host); code != http.StatusForbidden || !reused {
		t.Errorf("the client no longer in the ConfigMap: %d (connection reused: %v), want 403 on its open connection", code, reused)
	}
}

// httpsStatusReused is httpsStatus, and whether the request went over a
// connection that was already open.
func httpsStatusReused(c *http.Client, host string) (int, bool) {
	reused := false
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, "https://"+host+"/", nil)
	if err != nil {
		return 0, false
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, reused
	}
	drain(resp)
	return resp.StatusCode, reused
}

// indent indents PEM for a YAML block scalar.
func indent(pemText []byte) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(string(pemText)), "\n", "\n    ") + "\n"
}

// httpsClient presents cert and connects to addr, keeping its connection
// open between requests.
func httpsClient(ca *testpki.CA, cert *testpki.Cert, host, addr string) *http.Client {
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: host, MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*cert.TLS}}
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: cfg,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
}

// httpsStatus returns the status code of GET https://host/, or 0.
func httpsStatus(c *http.Client, host string) int {
	resp, err := c.Get("https://" + host + "/")
	if err != nil {
		return 0
	}
	drain(resp)
	return resp.StatusCode
}

// drain reads and closes a response body, so its connection stays open.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// writePEMPolicyConfig writes a configuration folder with an HTTPS
// listener serving serving, a route to a live backend, and a policy that
// pins pinned's certificate through a PEM pinsFrom source with
// keepPrevious; it returns the folder and the listener's port.
func writePEMPolicyConfig(t *testing.T, serving *testpki.Cert, keepPrevious string, pinned *testpki.Cert) (dir string, port int) {
	t.Helper()
	dir, port = t.TempDir(), testnet.FreePort(t)
	b64 := base64.StdEncoding.EncodeToString
	writeConfigFile(t, dir, "gateway.yaml", fmt.Sprintf(httpsGatewayYAML, port, b64(serving.CertPEM), b64(serving.KeyPEM))+
		"---\n"+strings.SplitN(fmt.Sprintf(testconfig.GatewayYAML, port, newBackend(t)), "---\n", 2)[1])
	writeConfigFile(t, dir, "route.yaml", fmt.Sprintf(testconfig.RouteYAML, "/"))
	writeConfigFile(t, dir, "policy.yaml", fmt.Sprintf(pemPolicyYAML, keepPrevious, indent(pinned.CertPEM)))
	return dir, port
}
