// Command etcd is upstream's etcd server, built from the go.etcd.io/etcd/server/v3
// version that k8s.io/kubernetes pins, for envtest and the local test cluster.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
