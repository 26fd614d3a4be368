//go:build conformance

package conformance_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/testwait"
	"github.com/certgate/certgate/test/cluster"
)

// missionNS is the mission's namespace, an application's own, apart from
// the release's.
const missionNS = "mission"

// missionPKI is what the mission's objects and clients are made of.
type missionPKI struct {
	ca                                *testpki.CA
	gateway, echo, upstream           *testpki.Cert // serving, backend serving, certgate's upstream identity
	pinned, other                     *testpki.Cert // clients
	pinnedSHA256                      string
	caPEM, gwCrt, gwKey, echoCrt      string
	echoKey, upstreamCrt, upstreamKey string
}

func newMissionPKI(t *testing.T) *missionPKI {
	ca := testpki.NewCA(t, "mission CA")
	p := &missionPKI{ca: ca,
		gateway:  ca.Issue(t, testpki.Options{CommonName: "api.mission.example", DNSNames: []string{"api.mission.example"}}),
		echo:     ca.Issue(t, testpki.Options{CommonName: "echo.mission.internal", DNSNames: []string{"echo.mission.internal"}}),
		upstream: ca.Issue(t, testpki.Options{CommonName: "certgate upstream"}),
		pinned:   ca.Issue(t, testpki.Options{CommonName: "the API gateway"}),
		other:    ca.Issue(t, testpki.Options{CommonName: "someone else"}),
	}
	sum := sha256.Sum256(p.pinned.Leaf.Raw)
	p.pinnedSHA256 = hex.EncodeToString(sum[:])
	ind := func(b []byte) string { return strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n    ") }
	p.caPEM, p.gwCrt, p.gwKey = ind(ca.PEM), ind(p.gateway.CertPEM), ind(p.gateway.KeyPEM)
	p.echoCrt, p.echoKey = ind(p.echo.CertPEM), ind(p.echo.KeyPEM)
	p.upstreamCrt, p.upstreamKey = ind(p.upstream.CertPEM), ind(p.upstream.KeyPEM)
	return p
}

// missionYAML is what a user applies: an HTTPS Gateway presenting a client
// certificate upstream, a route with a pinned rule and an open one, the
// policy, and an echo backend that requests client certificates.
var missionYAML = template.Must(template.New("mission").Parse(`
apiVersion: v1
kind: Namespace
metadata: {name: {{.NS}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: mission}
---
apiVersion: v1
kind: Secret
metadata: {name: gateway-tls, namespace: {{.NS}}}
type: kubernetes.io/tls
stringData:
  tls.crt: |
    {{.GwCrt}}
  tls.key: |
    {{.GwKey}}
---
apiVersion: v1
kind: Secret
metadata: {name: certgate-upstream, namespace: {{.NS}}}
type: kubernetes.io/tls
stringData:
  tls.crt: |
    {{.UpstreamCrt}}
  tls.key: |
    {{.UpstreamKey}}
---
apiVersion: v1
kind: Secret
metadata: {name: echo-tls, namespace: {{.NS}}}
stringData:
  crt: |
    {{.EchoCrt}}
  key: |
    {{.EchoKey}}
  ca: |
    {{.CA}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: mission-ca, namespace: {{.NS}}}
data:
  ca.crt: |
    {{.CA}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: {{.NS}}}
spec:
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
      - name: echo
        image: registry.k8s.io/gateway-api/echo-basic:v1.5.1
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: TLS_SERVER_CERT, value: /etc/echo/crt}
        - {name: TLS_SERVER_PRIVKEY, value: /etc/echo/key}
        - {name: TLS_CLIENT_CACERTS, value: /etc/echo/ca}
        volumeMounts: [{name: tls, mountPath: /etc/echo}]
      volumes: [{name: tls, secret: {secretName: echo-tls}}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: {{.NS}}}
spec:
  selector: {app: echo}
  ports: [{name: https, port: 443, targetPort: 8443}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: echo-tls, namespace: {{.NS}}}
spec:
  targetRefs: [{group: "", kind: Service, name: echo}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: mission-ca}]
    hostname: echo.mission.internal
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: api, namespace: {{.NS}}}
spec:
  gatewayClassName: certgate
  listeners:
  - name: https
    protocol: HTTPS
    port: 443
    tls:
      mode: Terminate
      certificateRefs: [{name: gateway-tls}]
  tls:
    backend:
      clientCertificateRef: {name: certgate-upstream}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: payments, namespace: {{.NS}}}
spec:
  parentRefs: [{name: api}]
  rules:
  - name: admin
    matches: [{path: {type: PathPrefix, value: /admin}}]
    backendRefs: [{name: echo, port: 443}]
  - name: public
    matches: [{path: {type: PathPrefix, value: /public}}]
    backendRefs: [{name: echo, port: 443}]
---
apiVersion: certgate.dev/v1alpha1
kind: ClientCertPolicy
metadata: {name: only-the-api-gateway, namespace: {{.NS}}}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: payments, sectionName: admin}
  pins: [{sha256: "{{.Pin}}"}]
  mode: Enforce
`))

// kubectl runs the cluster's kubectl as its admin, with stdin.
func kubectl(t *testing.T, c *cluster.Config, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(c.Kubectl(), append([]string{"--kubeconfig=" + c.Kubeconfig()}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// jsonpath reads one field of an object with kubectl; "" if it fails.
func jsonpath(c *cluster.Config, ns, obj, path string) string {
	args := append([]string{"--kubeconfig=" + c.Kubeconfig(), "-n", ns, "get"}, strings.Fields(obj)...)
	out, err := exec.Command(c.Kubectl(), append(args, "-o", "jsonpath="+path)...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// echoed is what echo-basic answers.
type echoed struct {
	Path string `json:"path"`
	TLS  *struct {
		PeerCertificates []string `json:"peerCertificates"`
	} `json:"tls"`
}

// gatewayClient is an HTTPS client of the mission's Gateway presenting
// cert (nil: none); every request is a new connection, so the
// LoadBalancer Service spreads them over both certgate Pods.
func gatewayClient(p *missionPKI, cert *testpki.Cert) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	cfg := &tls.Config{RootCAs: roots, ServerName: "api.mission.example", MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert.TLS}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
}

// get sends GET and returns the status and the body.
func get(hc *http.Client, url string) (int, []byte, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// TestMission is certgate's job end to end, installed by its chart: a
// pinned client gets 200 on the pinned rule and the backend sees
// certgate's upstream client certificate; other clients get 403 there and
// 200 on the open rule; the rejections are counted per route in the
// metrics of both Pods, scraped through the chart's metrics Service.
func TestMission(t *testing.T) {
	c := cluster.Current(t)
	m := setupMission(t, c)
	base, p := m.base, m.pki
	pinned, anonymous, other := gatewayClient(p, p.pinned), gatewayClient(p, nil), gatewayClient(p, p.other)
	checkUpstreamIdentity(t, pinned, base+"/admin/accounts", p)

	rejections := 0
	for _, tc := range []struct {
		name string
		hc   *http.Client
		path string
		want int
	}{
		{"no certificate, pinned rule", anonymous, "/admin/x", http.StatusForbidden},
		{"another certificate, pinned rule", other, "/admin/x", http.StatusForbidden},
		{"no certificate, open rule", anonymous, "/public/x", http.StatusOK},
		{"another certificate, open rule", other, "/public/x", http.StatusOK},
	} {
		for i := range 10 {
			code, b, err := get(tc.hc, base+tc.path)
			if err != nil || code != tc.want {
				t.Fatalf("%s, request %d: status %d (%v), want %d: %s", tc.name, i, code, err, tc.want, b)
			}
			if code == http.StatusForbidden {
				rejections++
			}
		}
	}
	checkRejectionMetrics(t, c, rejections)
}

// mission is the mission's objects applied and serving.
type mission struct {
	pki  *missionPKI
	base string // https://<Gateway address>:443
}

var (
	missionOnce sync.Once
	missionUp   *mission
)

// setupMission installs the chart and applies the mission's objects once
// for the package's tests, and waits until both certgate Pods serve the
// pinned client; it fails the test if that did not work.
func setupMission(t *testing.T, c *cluster.Config) *mission {
	t.Helper()
	install(t, c)
	missionOnce.Do(func() {
		p := newMissionPKI(t)
		var y bytes.Buffer
		if err := missionYAML.Execute(&y, map[string]string{"CA": p.caPEM, "GwCrt": p.gwCrt, "GwKey": p.gwKey,
			"UpstreamCrt": p.upstreamCrt, "UpstreamKey": p.upstreamKey, "EchoCrt": p.echoCrt, "EchoKey": p.echoKey,
			"Pin": p.pinnedSHA256, "NS": missionNS}); err != nil {
			t.Fatal(err)
		}
		kubectl(t, c, y.String(), "apply", "-f", "-")
		base := "https://" + net.JoinHostPort(missionReady(t, c), "443")
		pinned := gatewayClient(p, p.pinned)
		// Both replicas must have the configuration: ten answers in a row.
		testwait.Until(t, 90*time.Second, "ten 200s in a row for the pinned client", func() error {
			for range 10 {
				if code, b, err := get(pinned, base+"/admin/accounts"); err != nil || code != http.StatusOK {
					return fmt.Errorf("status %d, %v: %s", code, err, b)
				}
			}
			return nil
		})
		missionUp = &mission{pki: p, base: base}
	})
	if missionUp == nil {
		t.Fatal("the mission's setup failed in an earlier test")
	}
	return missionUp
}

// missionReady waits for the Gateway's load-balancer address, the route
// and the policy accepted, and returns the address.
func missionReady(t *testing.T, c *cluster.Config) string {
	var addr string
	testwait.Until(t, 2*time.Minute, "the Gateway programmed with an address", func() error {
		programmed := jsonpath(c, missionNS, "gateway/api", `{.status.conditions[?(@.type=="Programmed")].status}`)
		addr = jsonpath(c, missionNS, "gateway/api", "{.status.addresses[0].value}")
		if programmed != "True" || net.ParseIP(addr) == nil {
			return fmt.Errorf("Programmed %q, address %q", programmed, addr)
		}
		return nil
	})
	pool, _ := netipPrefix(c.LoadBalancerPool)
	if !pool.Contains(net.ParseIP(addr)) {
		t.Fatalf("the Gateway's address %s is not from the load-balancer pool %s", addr, c.LoadBalancerPool)
	}
	testwait.Until(t, time.Minute, "the ClientCertPolicy accepted", func() error {
		if s := jsonpath(c, missionNS, "clientcertpolicy/only-the-api-gateway", `{.status.ancestors[0].conditions[?(@.type=="Accepted")].status}`); s != "True" {
			return fmt.Errorf("Accepted %q", s)
		}
		return nil
	})
	return addr
}

func netipPrefix(s string) (*net.IPNet, error) {
	_, n, err := net.ParseCIDR(s)
	return n, err
}

// checkUpstreamIdentity: the backend saw certgate's upstream certificate,
// not the client's.
func checkUpstreamIdentity(t *testing.T, hc *http.Client, url string, p *missionPKI) {
	t.Helper()
	code, b, err := get(hc, url)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, code, err)
	}
	var e echoed
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("echo: %v: %s", err, b)
	}
	if e.TLS == nil || len(e.TLS.PeerCertificates) == 0 {
		t.Fatalf("the backend saw no client certificate: %s", b)
	}
	block, _ := pem.Decode([]byte(e.TLS.PeerCertificates[0]))
	if block == nil || !bytes.Equal(block.Bytes, p.upstream.Leaf.Raw) {
		t.Fatalf("the backend saw %q, want certgate's upstream certificate (CN %s)", e.TLS.PeerCertificates[0], p.upstream.Leaf.Subject.CommonName)
	}
}

// checkRejectionMetrics scrapes the chart's metrics Service the way a
// Prometheus ServiceMonitor does: every ready endpoint of its
// EndpointSlices, once both certgate Pods are there, plus one scrape
// through its ClusterIP (kube-proxy). The rejection counters of the
// pinned rule must add up to the rejections sent.
func checkRejectionMetrics(t *testing.T, c *cluster.Config, want int) {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	svc := "certgate-metrics"
	ip := jsonpath(c, release.Namespace, "service/"+svc, "{.spec.clusterIP}")
	if code, _, err := get(hc, "http://"+net.JoinHostPort(ip, "9090")+"/metrics"); err != nil || code != http.StatusOK {
		t.Fatalf("metrics through the Service's ClusterIP %s: status %d, %v", ip, code, err)
	}
	var endpoints []string
	testwait.Until(t, time.Minute, "two ready endpoints of Service "+svc, func() error {
		slices := "endpointslices -l kubernetes.io/service-name=" + svc
		port := jsonpath(c, release.Namespace, slices, "{.items[0].ports[0].port}")
		addrs := strings.Fields(jsonpath(c, release.Namespace, slices,
			`{range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{" "}{end}`))
		if len(addrs) != 2 || port == "" {
			return fmt.Errorf("ready addresses %v, port %q", addrs, port)
		}
		endpoints = endpoints[:0]
		for _, a := range addrs {
			endpoints = append(endpoints, net.JoinHostPort(a, port))
		}
		return nil
	})
	perPod, total := map[string]int{}, 0
	for _, ep := range endpoints {
		code, b, err := get(hc, "http://"+ep+"/metrics")
		if err != nil || code != http.StatusOK {
			t.Fatalf("metrics of endpoint %s: status %d, %v", ep, code, err)
		}
		perPod[ep] = scrape(string(b))
		total += perPod[ep]
	}
	t.Logf("rejections of route mission/payments rule admin per Pod: %v", perPod)
	if total != want {
		t.Errorf("certgate_clientcert_rejections_total for mission/payments/admin summed over the Pods = %d, want %d", total, want)
	}
}

// scrape returns the enforced rejections of the mission's pinned rule in
// one Pod's metrics.
func scrape(text string) (rejections int) {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "certgate_clientcert_rejections_total{") && strings.Contains(l, `namespace="`+missionNS+`"`) &&
			strings.Contains(l, `route="payments"`) && strings.Contains(l, `rule="admin"`) && strings.Contains(l, `mode="enforce"`) {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			rejections += int(v)
		}
	}
	return rejections
}
