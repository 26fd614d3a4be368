package main

import (
	"fmt"
	"path/filepath"
)

// printTryIt prints curl commands for the running demo, with the
// temporary folder's paths.
func (d *demo) printTryIt() {
	base := fmt.Sprintf("https://127.0.0.1:%d", d.port)
	ca := "--cacert " + d.pki.ca.CertFile
	pinned := fmt.Sprintf("--cert %s --key %s", d.pki.apiGateway.CertFile, d.pki.apiGateway.KeyFile)
	other := fmt.Sprintf("--cert %s --key %s", d.pki.intruder.CertFile, d.pki.intruder.KeyFile)
	fmt.Fprintf(d.out, `
== certgate is serving. Try it (Ctrl-C stops everything and removes %s):

  curl %s %s %s/admin/users  # 200, echo shows XFCC and certgate's identity
  curl %s %s/admin/users  # 403: no client certificate
  curl %s %s %s/admin/users  # 403: pin mismatch
  curl %s %s/public/hello  # 200: no policy on this rule
  curl -s http://%s/metrics | grep certgate_clientcert_
  curl -s http://%s/status

  Edit %s/*.yaml: certgate applies a change within a second,
  and keeps the previous configuration if a file does not decode.
  Pin list: %s (generated.yaml, ConfigMap api-gateway-pins).
`, d.tmp,
		ca, pinned, base,
		ca, base,
		ca, other, base,
		ca, base,
		d.metricsAddr, d.metricsAddr,
		d.configDir, filepath.Join(d.configDir, "generated.yaml"))
}
