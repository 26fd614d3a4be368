// Command certgate is a Gateway API implementation whose data plane pins
// client certificates per route.
//
//	certgate standalone     serve Gateway API YAML from a directory, without Kubernetes
//	certgate controller     run in a Kubernetes cluster
//	certgate explain        say which listener, rule and policy serve a request, and the verdict
//	certgate pin FILE|-     print the pins of each certificate in a PEM file, and a pins: block
//	certgate version        print the version, revision and Go version
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/certgate/certgate/internal/buildinfo"
	"github.com/certgate/certgate/internal/runtimeconfig"
)

const usage = `usage: certgate COMMAND [ARGS]

commands:
  controller [FLAGS]        run in a Kubernetes cluster
  standalone --config DIR   serve the Gateway API YAML in DIR without Kubernetes, reloading on change
  standalone --check DIR    validate the YAML in DIR, print every condition, exit 1 on a problem
  explain --config DIR --host HOST [--path P] [--cert FILE]
                            say which listener, route rule and ClientCertPolicy serve a request, and the verdict
  pin FILE|-                print the pins of each certificate in a PEM file, and a pins: block for the leaves
  version, --version        print the version, the source revision and the Go version

certgate COMMAND --help lists the flags of a command.
`

func main() {
	runtimeconfig.Apply()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "controller":
		return runController(args[1:], stdout, stderr)
	case "standalone":
		return runStandalone(args[1:], stdout, stderr)
	case "explain":
		return runExplain(args[1:], stdout, stderr)
	case "pin":
		return runPin(args[1:], stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, buildinfo.Read())
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "certgate: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
