package main

import (
	"os/exec"
	"path/filepath"
	"syscall"
)

// haproxyConf: master-worker mode (reloads by SIGUSR2 to the master), one
// thread, TLS 1.3 with X25519. The pin is the SHA-256 of the client
// certificate's DER (ssl_c_der,sha2(256)); the 10,000 pins are an ACL file,
// which HAProxy indexes in a tree for exact matches.
const haproxyConf = `global
  master-worker
  nbthread 1
  hard-stop-after 5s
  tune.ssl.cachesize 100000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend plain
  bind 127.0.0.1:{{.HTTP}}
{{if .Churn}}  http-request set-var(txn.churn) str(1) if { path_beg /churn-{{.Churn}} }
  http-response set-header X-Churn {{.Churn}} if { var(txn.churn) -m found }
{{end}}  use_backend be_tls if { path_beg /tlsbackend }
  default_backend be
frontend open
  bind 127.0.0.1:{{.HTTPS}} ssl crt {{.Mat}}/proxy.pem ssl-min-ver TLSv1.3 curves X25519 alpn http/1.1
  default_backend be
frontend mtls
  bind 127.0.0.1:{{.MTLS}} ssl crt {{.Mat}}/proxy.pem ssl-min-ver TLSv1.3 curves X25519 alpn http/1.1 ca-file {{.Mat}}/ca.crt verify required
  acl pinned ssl_c_der,sha2(256),hex,lower -m str {{.Pin}}
  acl pinned10k ssl_c_der,sha2(256),hex,lower -m str -f {{.Dir}}/pins10k.lst
  acl p10k path_beg /pinned10k
  http-request deny deny_status 403 if p10k !pinned10k
  http-request deny deny_status 403 if !p10k !pinned
  default_backend be
backend be
  server s1 127.0.0.1:{{.BackendHTTP}}
backend be_tls
  server s1 127.0.0.1:{{.BackendTLS}} ssl crt {{.Mat}}/gateway-client.pem ca-file {{.Mat}}/ca.crt verify required verifyhost {{.BackendHost}} sni str({{.BackendHost}}) ssl-min-ver TLSv1.3
`

const haproxyPins10k = `{{range .Decoys}}{{.}}
{{end}}{{.Pin}}
`

func haproxyPeer() *peer {
	return &peer{
		name:    "HAProxy",
		pinning: "CA verification (`verify required`) and an ACL on `ssl_c_der,sha2(256)`: the SHA-256 of the certificate, the same job as certgate",
		canPin:  true,
		source:  "Debian package haproxy",
		bin:     func(*runEnv) (string, error) { return lookDebian("haproxy", "haproxy") },
		version: func(bin string) string { return firstLine(bin, "-v") },
		start: func(r *peerRun) (*exec.Cmd, error) {
			for name, text := range map[string]string{"haproxy.cfg": haproxyConf, "pins10k.lst": haproxyPins10k} {
				if err := r.render(name, text, 0); err != nil {
					return nil, err
				}
			}
			return r.launch(nil, r.bin, "-W", "-f", filepath.Join(r.dir, "haproxy.cfg"))
		},
		change: func(r *peerRun, i int) error {
			if err := r.render("haproxy.cfg", haproxyConf, i); err != nil {
				return err
			}
			// SIGUSR2 to the master, as systemctl reload haproxy does. The
			// master CLI's "reload" is no use 10 ms apart: its socket
			// refuses connections while the master re-executes itself.
			return r.cmd.Process.Signal(syscall.SIGUSR2)
		},
	}
}
