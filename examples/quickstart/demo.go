package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// echoed is the part of echo-basic's JSON answer the demo reads.
type echoed struct {
	Path    string              `json:"path"`
	Headers map[string][]string `json:"headers"`
	TLS     *struct {
		PeerCertificates []string `json:"peerCertificates"`
	} `json:"tls"`
}

// request is one request of the demonstration and what it must get.
type request struct {
	what   string
	path   string
	client *demoCert // nil: no client certificate
	want   int
	// inspect checks the backend's echo of a passing request; it prints
	// what it found and returns false when that is not as expected.
	inspect func(e *echoed) bool
}

// demonstrate sends the requests, prints each outcome, and returns how
// many were not as expected.
func (d *demo) demonstrate(ctx context.Context) int {
	fmt.Fprintf(d.out, "\n== 7. requests to https://127.0.0.1:%d (the answers are printed as they come)\n", d.port)
	reqs := []request{
		{"the pinned client api-gateway", "/admin/users", d.pki.apiGateway, http.StatusOK, d.inspectPinned},
		{"no client certificate", "/admin/users", nil, http.StatusForbidden, nil},
		{"someone-else: a different certificate from the same CA", "/admin/users", d.pki.intruder, http.StatusForbidden, nil},
		{"the public rule, no client certificate", "/public/hello", nil, http.StatusOK, d.inspectPublic},
	}
	failed := 0
	for _, r := range reqs {
		if !d.send(ctx, r) {
			failed++
		}
	}
	if !d.showMetrics(ctx) {
		failed++
	}
	fmt.Fprintf(d.out, "\n%d of %d outcomes as expected\n", len(reqs)+1-failed, len(reqs)+1)
	return failed
}

// send makes one request and prints and judges its outcome.
func (d *demo) send(ctx context.Context, r request) bool {
	url := fmt.Sprintf("https://127.0.0.1:%d%s", d.port, r.path)
	fmt.Fprintf(d.out, "\n-> GET %s  (%s)\n", url, r.what)
	resp, body, err := d.get(ctx, url, r.client)
	if err != nil {
		fmt.Fprintf(d.out, "<- error: %v   FAIL (want %d)\n", err, r.want)
		return false
	}
	ok := resp.StatusCode == r.want
	fmt.Fprintf(d.out, "<- %s   %s (want %d)\n", resp.Status, verdict(ok), r.want)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(d.out, "   body: %s\n", strings.TrimSpace(string(body)))
	}
	if ok && r.inspect != nil {
		var e echoed
		if err := json.Unmarshal(body, &e); err != nil {
			fmt.Fprintf(d.out, "   the backend's answer is not echo-basic JSON: %v   FAIL\n", err)
			return false
		}
		ok = r.inspect(&e)
	}
	return ok
}

// inspectPinned shows that the backend saw certgate's identity, not the
// caller's, and that the caller's certificate reached it as XFCC.
func (d *demo) inspectPinned(e *echoed) bool {
	cn := peerCN(e)
	identityOK := cn == d.pki.identity.cert.Subject.CommonName
	fmt.Fprintf(d.out, "   echo-basic verified the client certificate of its caller: CN=%s (certgate's identity, Gateway spec.tls.backend.clientCertificateRef)   %s\n", cn, verdict(identityOK))
	xfcc := strings.Join(e.Headers["X-Forwarded-Client-Cert"], ",")
	want := "Hash=" + sha256Hex(d.pki.apiGateway)
	xfccOK := strings.HasPrefix(xfcc, want+";") || xfcc == want
	fmt.Fprintf(d.out, "   echo-basic got X-Forwarded-Client-Cert: %s\n", xfcc)
	fmt.Fprintf(d.out, "   Hash= is the SHA-256 of api-gateway.crt, the pinned certificate   %s\n", verdict(xfccOK))
	return identityOK && xfccOK
}

// inspectPublic shows that a request without a policy carries no
// forwarded certificate.
func (d *demo) inspectPublic(e *echoed) bool {
	_, has := e.Headers["X-Forwarded-Client-Cert"]
	fmt.Fprintf(d.out, "   echo-basic answered %s; no X-Forwarded-Client-Cert: no policy on this rule   %s\n", e.Path, verdict(!has))
	return !has
}

// peerCN is the common name of the first certificate echo-basic saw.
func peerCN(e *echoed) string {
	if e.TLS == nil || len(e.TLS.PeerCertificates) == 0 {
		return "(none)"
	}
	block, _ := pem.Decode([]byte(e.TLS.PeerCertificates[0]))
	if block == nil {
		return "(unreadable)"
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "(unreadable)"
	}
	return c.Subject.CommonName
}

// get sends a GET over a new connection, presenting client (if any).
func (d *demo) get(ctx context.Context, url string, client *demoCert) (*http.Response, []byte, error) {
	roots := x509.NewCertPool()
	roots.AddCert(d.pki.ca.cert)
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if client != nil {
		cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{client.cert.Raw}, PrivateKey: client.key, Leaf: client.cert}}
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// showMetrics prints the rejection counters and checks that both 403s
// were counted with their reason.
func (d *demo) showMetrics(ctx context.Context) bool {
	url := "http://" + d.metricsAddr + "/metrics"
	fmt.Fprintf(d.out, "\n-> GET %s | grep certgate_clientcert_\n", url)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := plainHTTP.Do(req)
	if err != nil {
		fmt.Fprintf(d.out, "<- error: %v   FAIL\n", err)
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	found := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "certgate_clientcert_") {
			continue
		}
		fmt.Fprintf(d.out, "   %s\n", line)
		for _, reason := range []string{"missing", "pin_mismatch"} {
			if strings.HasPrefix(line, "certgate_clientcert_rejections_total{") && strings.Contains(line, `reason="`+reason+`"`) {
				f := strings.Fields(line)
				v, _ := strconv.ParseFloat(f[len(f)-1], 64)
				found[reason] += v
			}
		}
	}
	ok := found["missing"] >= 1 && found["pin_mismatch"] >= 1
	fmt.Fprintf(d.out, "   rejections counted by reason: missing=%v pin_mismatch=%v   %s\n", found["missing"], found["pin_mismatch"], verdict(ok))
	return ok
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}

func indentLines(s, prefix string) string {
	if s == "" {
		return ""
	}
	return prefix + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+prefix) + "\n"
}
