// Command localcluster starts and stops certgate's local Kubernetes cluster
// (package test/cluster): etcd, kube-apiserver, kube-controller-manager and
// a node agent, inside the network namespace certgate-cluster.
//
//	localcluster up   [--name NAME] [--state-dir DIR] [--crds standard|experimental|none]
//	localcluster down [--name NAME] [--state-dir DIR]
//	localcluster exec [--name NAME] [--state-dir DIR] --log NAME -- COMMAND [ARG...]
//	localcluster dev  [--name NAME] [--state-dir DIR] --certgate bin/certgate
//
// exec starts a detached process inside the running cluster's namespace
// (logs/NAME.log; down kills it). dev starts `certgate controller` there with
// the cluster's Gateway address pool and applies a sample GatewayClass,
// Gateway, HTTPRoute and ClientCertPolicy.
//
// Run it as root from a built binary (make cluster-up builds it into
// .cache/cluster/bin): up re-executes this binary as the cluster's
// supervisor, which outlives the command.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/certgate/certgate/test/cluster"
)

func main() {
	cluster.Main()
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	// No service proxy yet: Pods reach the API server at its own address.
	c := &cluster.Config{DirectAPIServer: true}
	fs.StringVar(&c.Name, "name", cluster.DefaultName, "network namespace of the cluster")
	fs.StringVar(&c.StateDir, "state-dir", "", "state directory (default <repo>/.cache/cluster)")
	crds := "standard"
	logName, certgate := "", "bin/certgate"
	switch os.Args[1] {
	case "up":
		fs.StringVar(&crds, "crds", crds, "Gateway API CRD channel to install with certgate's CRDs: standard, experimental or none")
	case "exec":
		fs.StringVar(&logName, "log", "", "name of the process: its output goes to <state>/logs/NAME.log")
	case "dev":
		fs.StringVar(&certgate, "certgate", certgate, "the certgate binary")
	}
	_ = fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "up":
		if crds != "none" {
			c.GatewayAPICRDs = crds
		}
		ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer cancel()
		t0 := time.Now()
		if err := cluster.Up(ctx, c); err != nil {
			fmt.Fprintln(os.Stderr, "localcluster up:", err)
			os.Exit(1)
		}
		fmt.Printf("cluster %q up in %v\n", c.Name, time.Since(t0).Round(100*time.Millisecond))
		fmt.Printf("  logs:       %s\n", c.LogDir())
		fmt.Printf("  kubeconfig: %s (admin; reachable only inside the namespace)\n", c.Kubeconfig())
		fmt.Printf("  kubectl:    ip netns exec %s %s --kubeconfig %s get nodes,pods -A\n", c.Name, c.Kubectl(), c.Kubeconfig())
		fmt.Printf("  stop:       make cluster-down\n")
	case "down":
		if err := cluster.Down(c); err != nil {
			fmt.Fprintln(os.Stderr, "localcluster down:", err)
			os.Exit(1)
		}
		fmt.Printf("cluster %q down\n", c.Name)
	case "exec":
		if logName == "" || fs.NArg() == 0 {
			usage()
		}
		pid, err := cluster.Start(c, logName, fs.Args()...)
		if err != nil {
			fmt.Fprintln(os.Stderr, "localcluster exec:", err)
			os.Exit(1)
		}
		fmt.Printf("started %s (pid %d) in %s; log: %s/%s.log\n", logName, pid, c.Name, c.LogDir(), logName)
	case "dev":
		ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer cancel()
		abs, err := filepath.Abs(certgate)
		if err == nil {
			certgate = abs
		}
		addr, err := cluster.Dev(ctx, c, certgate)
		if err != nil {
			fmt.Fprintln(os.Stderr, "localcluster dev:", err)
			os.Exit(1)
		}
		fmt.Printf("certgate controller runs in %s (log: %s/certgate.log); Gateway dev/dev is at %s\n", c.Name, c.LogDir(), addr)
		fmt.Printf("  public rule, no certificate (200):        %s\n", cluster.DevCurl(c, addr, "/", false))
		fmt.Printf("  pinned rule, no certificate (403):        %s\n", cluster.DevCurl(c, addr, "/private", false))
		fmt.Printf("  pinned rule, pinned certificate (200):    %s\n", cluster.DevCurl(c, addr, "/private", true))
		fmt.Printf("  look around: ip netns exec %s %s --kubeconfig %s get gateways,httproutes,clientcertpolicies -A\n",
			c.Name, c.Kubectl(), c.Kubeconfig())
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: localcluster up   [--name NAME] [--state-dir DIR] [--crds standard|experimental|none]
       localcluster down [--name NAME] [--state-dir DIR]
       localcluster exec [--name NAME] [--state-dir DIR] --log NAME -- COMMAND [ARG...]
       localcluster dev  [--name NAME] [--state-dir DIR] [--certgate bin/certgate]`)
	os.Exit(2)
}
