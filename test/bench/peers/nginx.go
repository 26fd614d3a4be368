package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// nginxConf: one worker, TLS 1.3 with X25519, keep-alive to the backend,
// keepalive_requests raised so that nginx does not close client or backend
// connections every 1,000 requests (certgate and the Go peers never do).
// nginx exposes only the SHA-1 of the client certificate
// ($ssl_client_fingerprint), so its pins are SHA-1: the same job with a
// different hash.
const nginxConf = `daemon off;
master_process on;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path {{.Dir}}/tmp;
  proxy_temp_path {{.Dir}}/tmp;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  map_hash_max_size 65536;
  map_hash_bucket_size 128;
  ssl_protocols TLSv1.3;
  ssl_ecdh_curve X25519;
  ssl_certificate {{.Mat}}/proxy.crt;
  ssl_certificate_key {{.Mat}}/proxy.key;
  ssl_session_tickets on;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  upstream backend { server 127.0.0.1:{{.BackendHTTP}}; keepalive 64; keepalive_requests 100000000; }
  upstream backend_tls { server 127.0.0.1:{{.BackendTLS}}; keepalive 64; keepalive_requests 100000000; }
  map $ssl_client_fingerprint $pinned { default 0; {{.PinSHA1}} 1; }
  map $ssl_client_fingerprint $pinned10k { default 0; include {{.Dir}}/pins10k.map; }
  server {
    listen 127.0.0.1:{{.HTTP}};
    location / { proxy_pass http://backend; }
    location /tlsbackend {
      proxy_pass https://backend_tls;
      proxy_ssl_certificate {{.Mat}}/gateway-client.crt;
      proxy_ssl_certificate_key {{.Mat}}/gateway-client.key;
      proxy_ssl_trusted_certificate {{.Mat}}/ca.crt;
      proxy_ssl_verify on;
      proxy_ssl_name {{.BackendHost}};
      proxy_ssl_server_name on;
      proxy_ssl_protocols TLSv1.3;
      proxy_ssl_session_reuse on;
    }
    include {{.Dir}}/churn.conf;
  }
  server {
    listen 127.0.0.1:{{.HTTPS}} ssl;
    server_name {{.OpenHost}};
    location / { proxy_pass http://backend; }
  }
  server {
    listen 127.0.0.1:{{.MTLS}} ssl;
    server_name {{.MTLSHost}};
    ssl_client_certificate {{.Mat}}/ca.crt;
    ssl_verify_client on;
    location /pinned { if ($pinned = 0) { return 403; } proxy_pass http://backend; }
    location /pinned10k { if ($pinned10k = 0) { return 403; } proxy_pass http://backend; }
  }
}
`

const nginxChurn = `{{if .Churn}}location /churn-{{.Churn}} { add_header X-Churn {{.Churn}}; proxy_pass http://backend; }{{end}}
`

// nginxPins10k: 9,999 decoys (cut to SHA-1 length) and the client's pin.
const nginxPins10k = `{{range .Decoys}}{{slice . 0 40}} 1;
{{end}}{{.PinSHA1}} 1;
`

func nginxPeer() *peer {
	return &peer{
		name:    "nginx",
		pinning: "CA verification (`ssl_verify_client on`) and a `map` of `$ssl_client_fingerprint`, which is the **SHA-1** of the certificate: nginx exposes no SHA-256 of it",
		canPin:  true,
		source:  "Debian package nginx-light",
		bin:     func(*runEnv) (string, error) { return lookDebian("nginx", "nginx-light") },
		version: func(bin string) string { return firstLine(bin, "-v") },
		start: func(r *peerRun) (*exec.Cmd, error) {
			for name, text := range map[string]string{"nginx.conf": nginxConf, "churn.conf": nginxChurn, "pins10k.map": nginxPins10k} {
				if err := r.render(name, text, 0); err != nil {
					return nil, err
				}
			}
			return r.launch(nil, r.bin, "-p", r.dir, "-c", filepath.Join(r.dir, "nginx.conf"), "-e", "stderr")
		},
		change: func(r *peerRun, i int) error {
			if err := r.render("churn.conf", nginxChurn, i); err != nil {
				return err
			}
			return r.cmd.Process.Signal(syscall.SIGHUP)
		},
	}
}

// lookDebian finds a peer installed from Debian, or says how to install it.
func lookDebian(name, pkg string) (string, error) {
	bin, err := exec.LookPath(name)
	if err != nil {
		return "", &missingError{name: name, how: "apt-get install " + pkg}
	}
	return bin, nil
}

// firstLine runs bin with args and returns the first line it prints.
func firstLine(bin string, args ...string) string {
	out, _ := exec.Command(bin, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// missingError says a peer is not installed and how to install it.
type missingError struct{ name, how string }

func (e *missingError) Error() string { return e.name + " not found; install it: " + e.how }
