package node

import (
	"strconv"
	"strings"
)

// Image is a container image the node agent can run: a local program
// standing in for the image's filesystem and entrypoint.
type Image struct {
	// Refs are image name prefixes ("registry.k8s.io/gateway-api/echo-basic"),
	// matched with any tag or digest.
	Refs []string
	// Binary is the local program run for the image's entrypoint.
	Binary string
	// Entrypoints are the values of a container's command[0] that mean the
	// image's entrypoint (the image's ENTRYPOINT path); any other command
	// cannot run.
	Entrypoints []string
	// DefaultPorts are the TCP ports the program listens on given its
	// environment, used for readiness when the container declares neither
	// ports nor a readiness probe.
	DefaultPorts func(env map[string]string) []int32
}

// Matches reports whether ref names this image, with any tag or digest.
func (im *Image) Matches(ref string) bool {
	name := ref
	if i := strings.Index(name, "@"); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	for _, r := range im.Refs {
		if name == r {
			return true
		}
	}
	return false
}

// EchoBasicImages is the Gateway API conformance echo server
// (sigs.k8s.io/gateway-api/conformance/echo-basic), as the conformance
// manifests name its image, run from a binary built from the pinned module.
func EchoBasicImages(binary string) []Image {
	return []Image{{
		Refs: []string{
			"registry.k8s.io/gateway-api/echo-basic",
			"gcr.io/k8s-staging-gateway-api/echo-basic",
			"us-central1-docker.pkg.dev/k8s-staging-images/gateway-api/echo-basic",
		},
		Binary:      binary,
		Entrypoints: []string{"/echo-basic", "echo-basic"},
		DefaultPorts: func(env map[string]string) []int32 {
			port := func(key string, def int32) int32 {
				if p, err := strconv.ParseInt(env[key], 10, 32); err == nil && p > 0 {
					return int32(p)
				}
				return def
			}
			switch {
			case env["UDP_ECHO_SERVER"] != "":
				return nil
			case env["TCP_ECHO_SERVER"] != "" && env["TLS_SERVER_CERT"] != "":
				// The TCP echo also serves TLS on TLS_PORT when given a
				// certificate (the TLSRoute backends).
				return []int32{port("TCP_PORT", 3000), port("TLS_PORT", 8443)}
			case env["TCP_ECHO_SERVER"] != "":
				return []int32{port("TCP_PORT", 3000)}
			default: // HTTP (and gRPC): HTTP_PORT, default 3000
				return []int32{port("HTTP_PORT", 3000)}
			}
		},
	}}
}

// CoreDNSImages is CoreDNS (registry.k8s.io/coredns/coredns, which the
// Gateway API conformance base manifests deploy), run from a binary built
// from the pinned module github.com/coredns/coredns (test/cluster/images/coredns).
func CoreDNSImages(binary string) []Image {
	return []Image{{
		Refs:         []string{"registry.k8s.io/coredns/coredns", "registry.k8s.io/coredns"},
		Binary:       binary,
		Entrypoints:  []string{"/coredns", "coredns"},
		DefaultPorts: func(map[string]string) []int32 { return []int32{53} },
	}}
}
