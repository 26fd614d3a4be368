package main

import (
	"os/exec"
	"path/filepath"
)

// traefikStatic: three entry points and the file provider, watched.
const traefikStatic = `entryPoints:
  plain: {address: "127.0.0.1:{{.HTTP}}"}
  open: {address: "127.0.0.1:{{.HTTPS}}"}
  mtls: {address: "127.0.0.1:{{.MTLS}}"}
providers:
  file: {filename: "{{.Dir}}/dynamic.yaml", watch: true}
log: {level: ERROR}
global: {checkNewVersion: false, sendAnonymousUsage: false}
`

// traefikDynamic: TLS 1.3 with X25519; the mTLS entry point's TLS option
// verifies the CA. Traefik has no matcher on the client certificate's
// fingerprint, so /pinned and /pinned10k are CA-verified only.
const traefikDynamic = `http:
  routers:
    plain: {entryPoints: [plain], rule: "PathPrefix(` + "`/`" + `)", service: be}
    tlsbackend: {entryPoints: [plain], rule: "PathPrefix(` + "`/tlsbackend`" + `)", service: betls}
{{if .Churn}}    churn: {entryPoints: [plain], rule: "PathPrefix(` + "`/churn-{{.Churn}}`" + `)", service: be, middlewares: [mark]}
{{end}}    open: {entryPoints: [open], rule: "Host(` + "`{{.OpenHost}}`" + `)", service: be, tls: {}}
    mtls: {entryPoints: [mtls], rule: "Host(` + "`{{.MTLSHost}}`" + `)", service: be, tls: {options: mtls}}
{{if .Churn}}  middlewares:
    mark: {headers: {customResponseHeaders: {X-Churn: "{{.Churn}}"}}}
{{end}}  services:
    be: {loadBalancer: {servers: [{url: "http://127.0.0.1:{{.BackendHTTP}}"}]}}
    betls: {loadBalancer: {servers: [{url: "https://127.0.0.1:{{.BackendTLS}}"}], serversTransport: gw}}
  serversTransports:
    gw:
      serverName: {{.BackendHost}}
      rootCAs: ["{{.Mat}}/ca.crt"]
      certificates: [{certFile: "{{.Mat}}/gateway-client.crt", keyFile: "{{.Mat}}/gateway-client.key"}]
tls:
  certificates: [{certFile: "{{.Mat}}/proxy.crt", keyFile: "{{.Mat}}/proxy.key"}]
  options:
    default: {minVersion: VersionTLS13, curvePreferences: [X25519], alpnProtocols: [http/1.1]}
    mtls:
      minVersion: VersionTLS13
      curvePreferences: [X25519]
      alpnProtocols: [http/1.1]
      clientAuth: {caFiles: ["{{.Mat}}/ca.crt"], clientAuthType: RequireAndVerifyClientCert}
`

func traefikPeer() *peer {
	return &peer{
		name:    "Traefik",
		pinning: "CA verification only (TLS option `clientAuth`, `RequireAndVerifyClientCert`): no router rule or middleware matches the certificate's fingerprint, so its pinned rows check less than the others",
		source: "Go module github.com/traefik/traefik/v3 v3.6.12 (tools/traefik), built with the Go above. " +
			"v3.6.12, not the newest v3.7.13: v3.7's module cannot be fetched here (its go.mod replaces " +
			"github.com/traefik/traefik/dynamic/ext with a folder of its repository, and the Go module proxy refuses " +
			"several DNS-provider SDKs that lego v5 needs, such as github.com/huaweicloud/huaweicloud-sdk-go-v3 v0.1.213). " +
			"tools/traefik repeats Traefik's own replace and exclude directives",
		bin:     func(env *runEnv) (string, error) { return toolBinary(env, "traefik") },
		version: func(bin string) string { return moduleVersion(bin, "github.com/traefik/traefik/v3") },
		start: func(r *peerRun) (*exec.Cmd, error) {
			for name, text := range map[string]string{"traefik.yaml": traefikStatic, "dynamic.yaml": traefikDynamic} {
				if err := r.render(name, text, 0); err != nil {
					return nil, err
				}
			}
			return r.launch([]string{"GOMAXPROCS=1"}, r.bin, "--configFile="+filepath.Join(r.dir, "traefik.yaml"))
		},
		change: func(r *peerRun, i int) error { return r.render("dynamic.yaml", traefikDynamic, i) },
	}
}
