// Command coredns is CoreDNS, built from the pinned module
// github.com/coredns/coredns with its default plugin set, for the local
// cluster's node agent to run for the registry.k8s.io/coredns/coredns image
// that the Gateway API conformance base manifests deploy.
package main

import (
	_ "github.com/coredns/coredns/core/plugin" // the default plugins, as upstream's main
	"github.com/coredns/coredns/coremain"
)

func main() { coremain.Run() }
