package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

// committed is the configuration of the demo as checked in: no key
// material, which lives in generated.yaml in the temporary folder.
//
//go:embed *.yaml
var committed embed.FS

// committedPort is the Gateway listener port written in gateway.yaml.
const committedPort = 8443

// demoPKI is every certificate of the demo.
type demoPKI struct {
	ca *demoCert
	// gateway serves the Gateway's HTTPS listener; echo serves the backend.
	gateway, echo *demoCert
	// apiGateway is the pinned client; intruder is another client of the
	// same CA; identity is what certgate presents to the backend.
	apiGateway, intruder, identity *demoCert
}

// newPKI generates the demo's certificates into dir.
func newPKI(dir string) (*demoPKI, error) {
	ca, err := newCA("certgate-demo-ca")
	if err != nil {
		return nil, err
	}
	p := &demoPKI{ca: ca}
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	specs := []struct {
		out  **demoCert
		spec certSpec
	}{
		{&p.gateway, certSpec{name: "gateway", usage: x509.ExtKeyUsageServerAuth, dns: []string{"localhost"}, ips: loopback}},
		{&p.echo, certSpec{name: "echo.demo.internal", usage: x509.ExtKeyUsageServerAuth, dns: []string{"echo.demo.internal"}, ips: loopback}},
		{&p.apiGateway, certSpec{name: "api-gateway", usage: x509.ExtKeyUsageClientAuth}},
		{&p.intruder, certSpec{name: "someone-else", usage: x509.ExtKeyUsageClientAuth}},
		{&p.identity, certSpec{name: "certgate-gateway", usage: x509.ExtKeyUsageClientAuth}},
	}
	if err := ca.write(dir); err != nil {
		return nil, err
	}
	for _, s := range specs {
		if *s.out, err = ca.issue(s.spec); err != nil {
			return nil, err
		}
		if err := (*s.out).write(dir); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// sha256Hex is the SHA-256 of a certificate's DER, lower-case hex: the
// pin, and the XFCC Hash= value.
func sha256Hex(c *demoCert) string {
	sum := sha256.Sum256(c.cert.Raw)
	return hex.EncodeToString(sum[:])
}

// writeConfig writes the committed YAML into dir, with the listener port
// changed when port is not committedPort, and generated.yaml with the
// Secrets, ConfigMaps and the backend's EndpointSlice.
func writeConfig(dir string, p *demoPKI, port, echoPort int) error {
	entries, err := committed.ReadDir(".")
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := committed.ReadFile(e.Name())
		if err != nil {
			return err
		}
		if e.Name() == "gateway.yaml" && port != committedPort {
			if data, err = setPort(data, port); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return writeGenerated(filepath.Join(dir, "generated.yaml"), p, echoPort)
}

// setPort rewrites the one "port: 8443" line of gateway.yaml.
func setPort(data []byte, port int) ([]byte, error) {
	old := fmt.Sprintf("port: %d\n", committedPort)
	if n := bytes.Count(data, []byte(old)); n != 1 {
		return nil, fmt.Errorf("gateway.yaml: want one %q line to change the port, found %d", strings.TrimSpace(old), n)
	}
	return bytes.Replace(data, []byte(old), fmt.Appendf(nil, "port: %d\n", port), 1), nil
}

func writeGenerated(file string, p *demoPKI, echoPort int) error {
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	var buf bytes.Buffer
	err := generatedTemplate.Execute(&buf, map[string]any{
		"GatewayCert": b64(p.gateway.certPEM), "GatewayKey": b64(p.gateway.keyPEM),
		"IdentityCert": b64(p.identity.certPEM), "IdentityKey": b64(p.identity.keyPEM),
		"CA":  indent(string(p.ca.certPEM), "    "),
		"Pin": sha256Hex(p.apiGateway), "EchoPort": echoPort,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(file, buf.Bytes(), 0o600)
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+prefix)
}

var generatedTemplate = template.Must(template.New("generated.yaml").Parse(generatedYAML))
