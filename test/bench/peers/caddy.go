package main

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"
)

// caddyConf: GOMAXPROCS=1, TLS 1.3 with X25519, client_auth with the CA,
// and the pin as a `vars` matcher on {http.request.tls.client.fingerprint}
// (the SHA-256 of the certificate). The 10,000 pins are 10,000 values of
// one `vars` matcher, which Caddy compares one by one.
const caddyConf = `{
	admin 127.0.0.1:{{.Admin}}
	auto_https off
	persist_config off
	log {
		level ERROR
	}
}
http://:{{.HTTP}} {
	bind 127.0.0.1
{{if .Churn}}	@churn path /churn-{{.Churn}}*
	handle @churn {
		header X-Churn {{.Churn}}
		reverse_proxy 127.0.0.1:{{.BackendHTTP}}
	}
{{end}}	handle /tlsbackend* {
		reverse_proxy 127.0.0.1:{{.BackendTLS}} {
			transport http {
				tls
				tls_client_auth {{.Mat}}/gateway-client.crt {{.Mat}}/gateway-client.key
				tls_trust_pool file {{.Mat}}/ca.crt
				tls_server_name {{.BackendHost}}
			}
		}
	}
	handle {
		reverse_proxy 127.0.0.1:{{.BackendHTTP}}
	}
}
https://{{.OpenHost}}:{{.HTTPS}} {
	bind 127.0.0.1
	tls {{.Mat}}/proxy.crt {{.Mat}}/proxy.key {
		protocols tls1.3
		curves x25519
	}
	reverse_proxy 127.0.0.1:{{.BackendHTTP}}
}
https://{{.MTLSHost}}:{{.MTLS}} {
	bind 127.0.0.1
	tls {{.Mat}}/proxy.crt {{.Mat}}/proxy.key {
		protocols tls1.3
		curves x25519
		client_auth {
			mode require_and_verify
			trust_pool file {{.Mat}}/ca.crt
		}
	}
	@ok10k {
		path /pinned10k*
		vars {http.request.tls.client.fingerprint}{{range .Decoys}} {{.}}{{end}} {{.Pin}}
	}
	@p10k path /pinned10k*
	@ok {
		path /pinned*
		vars {http.request.tls.client.fingerprint} {{.Pin}}
	}
	handle @ok10k {
		reverse_proxy 127.0.0.1:{{.BackendHTTP}}
	}
	handle @p10k {
		respond 403
	}
	handle @ok {
		reverse_proxy 127.0.0.1:{{.BackendHTTP}}
	}
	handle {
		respond 403
	}
}
`

func caddyPeer() *peer {
	return &peer{
		name:    "Caddy",
		pinning: "`client_auth` (`require_and_verify`, the CA) and a `vars` matcher on `{http.request.tls.client.fingerprint}`, the SHA-256 of the certificate",
		canPin:  true,
		source:  "Go module github.com/caddyserver/caddy/v2 v2.11.9 (tools/caddy), built with the Go above",
		bin:     func(env *runEnv) (string, error) { return toolBinary(env, "caddy") },
		version: func(bin string) string { return moduleVersion(bin, "github.com/caddyserver/caddy/v2") },
		start: func(r *peerRun) (*exec.Cmd, error) {
			if err := r.render("Caddyfile", caddyConf, 0); err != nil {
				return nil, err
			}
			return r.launch([]string{"GOMAXPROCS=1", "HOME=" + r.dir, "XDG_DATA_HOME=" + r.dir, "XDG_CONFIG_HOME=" + r.dir},
				r.bin, "run", "--config", filepath.Join(r.dir, "Caddyfile"), "--adapter", "caddyfile")
		},
		change: func(r *peerRun, i int) error {
			if err := r.render("Caddyfile", caddyConf, i); err != nil {
				return err
			}
			return caddyLoad(r)
		},
	}
}

// caddyLoad posts the Caddyfile to the admin API's /load, as `caddy
// reload` does, without starting another process on the proxy CPU.
func caddyLoad(r *peerRun) error {
	data, err := os.ReadFile(filepath.Join(r.dir, "Caddyfile"))
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:"+strconv.Itoa(r.port.Admin)+"/load", bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/caddyfile")
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("caddy /load: status %d", resp.StatusCode)
	}
	return nil
}

// toolBinary is a peer built from its tools module by make bench-peers.
func toolBinary(env *runEnv, name string) (string, error) {
	bin := filepath.Join(env.toolsBin, name)
	if _, err := os.Stat(bin); err != nil {
		return "", &missingError{name: name, how: "make bench-peers builds it from tools/" + name}
	}
	return bin, nil
}

// moduleVersion reads the version of module mod from the build information
// of a Go binary (what `go version -m` prints).
func moduleVersion(bin, mod string) string {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "unknown: " + err.Error()
	}
	// Built from a tools module by package path, the peer's own module is
	// the binary's main module.
	for _, d := range append([]*debug.Module{&info.Main}, info.Deps...) {
		if d.Path == mod {
			return d.Path + " " + d.Version + ", " + info.GoVersion
		}
	}
	return "unknown"
}
