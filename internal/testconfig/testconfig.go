// Package testconfig holds the configuration files tests give certgate
// standalone.
package testconfig

// GatewayYAML is a Gateway with a plain HTTP listener on 127.0.0.1:port
// and a Service whose one endpoint is 127.0.0.1:backendPort, for
// fmt.Sprintf(GatewayYAML, port, backendPort): the base of the tests that run
// certgate standalone on a directory of YAML files.
const GatewayYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: certgate
  addresses:
  - value: 127.0.0.1
  listeners:
  - name: http
    protocol: HTTP
    port: %d
---
apiVersion: v1
kind: Service
metadata:
  name: backend
spec:
  ports:
  - name: http
    port: 80
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-1
  labels:
    kubernetes.io/service-name: backend
addressType: IPv4
ports:
- name: http
  port: %d
endpoints:
- addresses: ["127.0.0.1"]
`

// RouteYAML is the HTTPRoute "api" on the Gateway of GatewayYAML, routing
// the path prefix %s to its Service, for fmt.Sprintf(RouteYAML, prefix).
const RouteYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: api
spec:
  parentRefs:
  - name: gw
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: %s
    backendRefs:
    - name: backend
      port: 80
`

// ScaleRouteYAML is route-i of the scale benchmarks, on the Gateway of
// GatewayYAML: one hostname, two rules, one header filter each, whose
// value carries version, which an edit changes; for
// fmt.Sprintf(ScaleRouteYAML, i, version).
const ScaleRouteYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-%[1]d
spec:
  parentRefs:
  - name: gw
  hostnames:
  - r%[1]d.example.com
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /api
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - name: X-Version
          value: api-%[2]d
    backendRefs:
    - name: backend
      port: 80
  - matches:
    - path:
        type: PathPrefix
        value: /web
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - name: X-Version
          value: web-%[2]d
    backendRefs:
    - name: backend
      port: 80
`
