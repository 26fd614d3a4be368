package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// DevHost is the sample Gateway's hostname.
const DevHost = "echo.dev.example"

// Dev starts `certgate controller` (the binary at certgate) in the running
// cluster with the address pool, and applies a sample: GatewayClass
// "certgate", Gateway dev/dev (HTTPS on 443 for DevHost, HTTP on 80), an
// echo-basic backend, an HTTPRoute with rules "private" (/private) and
// "public", and a ClientCertPolicy pinning rule "private" to a client
// certificate written to <state>/dev/client.{crt,key}. It returns the
// Gateway's address.
func Dev(ctx context.Context, c *Config, certgate string) (string, error) {
	if err := c.Defaults(); err != nil {
		return "", err
	}
	dir := filepath.Join(c.StateDir, "dev")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	authority, err := newCA()
	if err != nil {
		return "", err
	}
	srvCrt, srvKey, err := authority.issue(DevHost, nil, []string{DevHost}, nil)
	if err != nil {
		return "", err
	}
	cliCrt, cliKey, err := authority.issue("api-gateway", []string{"certgate dev"}, nil, nil)
	if err != nil {
		return "", err
	}
	for name, b := range map[string][]byte{"ca.crt": authority.PEM, "client.crt": cliCrt, "client.key": cliKey} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return "", err
		}
	}
	blk, _ := pem.Decode(cliCrt)
	sum := sha256.Sum256(blk.Bytes)

	var manifest bytes.Buffer
	if err := devTemplate.Execute(&manifest, map[string]string{
		"Host": DevHost, "Crt": base64.StdEncoding.EncodeToString(srvCrt), "Key": base64.StdEncoding.EncodeToString(srvKey),
		"Pin": fmt.Sprintf("%X", sum[:]),
	}); err != nil {
		return "", err
	}
	manifestFile := filepath.Join(dir, "sample.yaml")
	if err := os.WriteFile(manifestFile, manifest.Bytes(), 0o600); err != nil {
		return "", err
	}

	if _, err := Start(c, "certgate", certgate, "controller",
		"--kubeconfig="+c.Kubeconfig(),
		"--gateway-address-pool="+c.GatewayPool,
		"--leader-elect=false",
		"--metrics-address="+c.NodeIP+":9090",
		"--health-address="+c.NodeIP+":9091",
	); err != nil {
		return "", fmt.Errorf("starting certgate controller: %w", err)
	}
	kubectl := func(args ...string) (string, error) {
		cmd := c.Command(c.Kubectl(), append([]string{"--kubeconfig=" + c.Kubeconfig()}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := kubectl("apply", "-f", manifestFile); err != nil {
		return "", err
	}
	var addr string
	err = poll(ctx, 2*time.Minute, func() (bool, error) {
		out, err := kubectl("-n", "dev", "get", "gateway", "dev", "-o",
			`jsonpath={.status.conditions[?(@.type=="Programmed")].status} {.status.addresses[0].value}`)
		if err != nil {
			return false, nil
		}
		f := strings.Fields(out)
		if len(f) == 2 && f[0] == "True" {
			addr = f[1]
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("the sample Gateway dev/dev is not Programmed with an address: %w (certgate's log: %s)",
			err, filepath.Join(c.LogDir(), "certgate.log"))
	}
	// The echo backend must be ready before the sample answers 200.
	_, _ = kubectl("-n", "dev", "wait", "--for=condition=Available", "--timeout=60s", "deployment/echo")
	return addr, nil
}

// DevCurl is a curl command line, run in the cluster namespace, for the
// sample Gateway at addr; withCert presents the pinned client certificate.
func DevCurl(c *Config, addr, path string, withCert bool) string {
	dir := filepath.Join(c.StateDir, "dev")
	args := []string{"ip", "netns", "exec", c.Name, "curl", "-sS", "--cacert", filepath.Join(dir, "ca.crt"),
		"--resolve", DevHost + ":443:" + addr}
	if withCert {
		args = append(args, "--cert", filepath.Join(dir, "client.crt"), "--key", filepath.Join(dir, "client.key"))
	}
	return strings.Join(append(args, "https://"+DevHost+path), " ")
}

var devTemplate = template.Must(template.New("dev").Parse(`apiVersion: v1
kind: Namespace
metadata:
  name: dev
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: certgate
spec:
  controllerName: certgate.dev/gateway-controller
---
apiVersion: v1
kind: Secret
metadata:
  name: gateway-tls
  namespace: dev
type: kubernetes.io/tls
data:
  tls.crt: {{.Crt}}
  tls.key: {{.Key}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: dev
  namespace: dev
spec:
  gatewayClassName: certgate
  listeners:
  - name: https
    protocol: HTTPS
    port: 443
    hostname: {{.Host}}
    tls:
      mode: Terminate
      certificateRefs:
      - name: gateway-tls
  - name: http
    protocol: HTTP
    port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo
  namespace: dev
spec:
  replicas: 1
  selector:
    matchLabels: {app: echo}
  template:
    metadata:
      labels: {app: echo}
    spec:
      containers:
      - name: echo
        image: registry.k8s.io/gateway-api/echo-basic:v1.5.1
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
---
apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: dev
spec:
  selector: {app: echo}
  ports:
  - port: 8080
    targetPort: 3000
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: echo
  namespace: dev
spec:
  parentRefs:
  - name: dev
    sectionName: https
  hostnames: [{{.Host}}]
  rules:
  - name: private
    matches:
    - path: {type: PathPrefix, value: /private}
    backendRefs:
    - name: echo
      port: 8080
  - name: public
    backendRefs:
    - name: echo
      port: 8080
---
apiVersion: certgate.dev/v1alpha1
kind: ClientCertPolicy
metadata:
  name: only-the-api-gateway
  namespace: dev
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: echo
    sectionName: private
  pins:
  - sha256: "{{.Pin}}"
`))
