package main

import (
	"os/exec"
	"path/filepath"
)

// certgateConf is the standalone configuration: three listeners, the
// pinned rules governed by ClientCertPolicies that verify the CA (trust)
// and pin the SHA-256 of the leaf, and a backend reached over mTLS.
const certgateConf = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  gatewayClassName: certgate
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
  - {name: http, protocol: HTTP, port: {{.HTTP}}}
  - name: open
    protocol: HTTPS
    port: {{.HTTPS}}
    hostname: {{.OpenHost}}
    tls: {mode: Terminate, certificateRefs: [{name: proxy-tls}]}
  - name: mtls
    protocol: HTTPS
    port: {{.MTLS}}
    hostname: {{.MTLSHost}}
    tls: {mode: Terminate, certificateRefs: [{name: proxy-tls}]}
  tls:
    backend:
      clientCertificateRef: {name: gateway-client}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: plain}
spec:
  parentRefs: [{name: bench, sectionName: http}]
  rules:
  - name: tlsbackend
    matches: [{path: {type: PathPrefix, value: /tlsbackend}}]
    backendRefs: [{name: backend-tls, port: 443}]
  - name: all
    backendRefs: [{name: backend, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: open}
spec:
  parentRefs: [{name: bench, sectionName: open}]
  rules:
  - backendRefs: [{name: backend, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mtls}
spec:
  parentRefs: [{name: bench, sectionName: mtls}]
  rules:
  - name: pinned
    matches: [{path: {type: PathPrefix, value: /pinned}}]
    backendRefs: [{name: backend, port: 80}]
  - name: pinned10k
    matches: [{path: {type: PathPrefix, value: /pinned10k}}]
    backendRefs: [{name: backend, port: 80}]
---
apiVersion: certgate.dev/v1alpha1
kind: ClientCertPolicy
metadata: {name: pinned}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: mtls, sectionName: pinned}]
  trust: {caCertificateRefs: [{kind: ConfigMap, name: bench-ca}]}
  pins: [{sha256: "{{.Pin}}"}]
---
apiVersion: certgate.dev/v1alpha1
kind: ClientCertPolicy
metadata: {name: pinned10k}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: mtls, sectionName: pinned10k}]
  trust: {caCertificateRefs: [{kind: ConfigMap, name: bench-ca}]}
  pinsFrom: [{kind: ConfigMap, name: pins10k, key: pins}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: backend-tls}
spec:
  targetRefs: [{group: "", kind: Service, name: backend-tls}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: bench-ca}]
    hostname: {{.BackendHost}}
---
apiVersion: v1
kind: Service
metadata: {name: backend}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: backend-tls}
spec: {ports: [{name: https, port: 443}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: backend, labels: {kubernetes.io/service-name: backend}}
addressType: IPv4
ports: [{name: http, port: {{.BackendHTTP}}}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: backend-tls, labels: {kubernetes.io/service-name: backend-tls}}
addressType: IPv4
ports: [{name: https, port: {{.BackendTLS}}}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
---
apiVersion: v1
kind: Secret
metadata: {name: proxy-tls}
type: kubernetes.io/tls
data: {tls.crt: {{index .B64 "proxy.crt"}}, tls.key: {{index .B64 "proxy.key"}}}
---
apiVersion: v1
kind: Secret
metadata: {name: gateway-client}
type: kubernetes.io/tls
data: {tls.crt: {{index .B64 "gateway-client.crt"}}, tls.key: {{index .B64 "gateway-client.key"}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: bench-ca}
data: {ca.crt: {{.CAQuoted}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: pins10k}
data:
  pins: |
{{range .Decoys}}    sha256:{{.}}
{{end}}    sha256:{{.Pin}}
`

// certgateChurn is the route that route changes rewrite.
const certgateChurn = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: churn}
spec:
  parentRefs: [{name: bench, sectionName: http}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /churn-{{.Churn}}}}]
    filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: X-Churn, value: "{{.Churn}}"}]}}]
    backendRefs: [{name: backend, port: 80}]
`

func certgatePeer() *peer {
	return standalonePeer("certgate", "`certgate standalone` built from this checkout (`make build`)", func(env *runEnv) string { return env.certgate })
}

// baselinePeer is certgate built from another commit (-baseline): its
// column is a before/after comparison measured in the same rounds.
func baselinePeer() *peer {
	return standalonePeer("certgate-baseline", "`certgate standalone` built from another commit (`-baseline`)", func(env *runEnv) string { return env.baseline })
}

// standalonePeer is a certgate binary in standalone mode.
func standalonePeer(name, source string, binary func(*runEnv) string) *peer {
	return &peer{
		name:    name,
		pinning: "ClientCertPolicy with `trust` (the CA) and `pins` (SHA-256 of the certificate); the 10,000 pins in a `pinsFrom` ConfigMap",
		canPin:  true,
		source:  source,
		bin: func(env *runEnv) (string, error) {
			if bin := binary(env); bin != "" {
				return bin, nil
			}
			return "", &missingError{name: name, how: "make build, or pass -certgate"}
		},
		version: func(bin string) string { return firstLine(bin, "version") },
		start: func(r *peerRun) (*exec.Cmd, error) {
			for name, text := range map[string]string{"config/bench.yaml": certgateConf, "config/churn.yaml": certgateChurn} {
				if err := r.render(name, text, 0); err != nil {
					return nil, err
				}
			}
			return r.launch([]string{"GOMAXPROCS=1"}, r.bin, "standalone", "--config", filepath.Join(r.dir, "config"), "--metrics-address", "")
		},
		change: func(r *peerRun, i int) error { return r.render("config/churn.yaml", certgateChurn, i) },
	}
}
