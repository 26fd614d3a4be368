// Command quickstart is certgate's demonstration, the README's first
// command (make run). With nothing but Go installed, it:
//
//  1. generates a demo CA and certificates in a temporary folder;
//  2. builds and starts the Gateway API project's echo-basic as a TLS
//     backend on 127.0.0.1 that verifies the client certificates it gets;
//  3. builds certgate, checks the configuration of this folder with
//     "certgate standalone --check", and serves it with
//     "certgate standalone --config";
//  4. sends the requests that show the job and prints what came back: the
//     pinned client gets 200, everyone else 403 on the pinned rule, a
//     public rule stays open, and the metrics count the rejections.
//
// Then it keeps serving and prints curl commands to try, until Ctrl-C; it
// stops both processes and removes the temporary folder. With
// -exit-after-demo it exits after step 4, non-zero if any outcome was not
// as expected.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// options are the command line of the quickstart.
type options struct {
	// exitAfterDemo ends the program after the requests instead of
	// serving until interrupted.
	exitAfterDemo bool
	// port is the Gateway listener port; 0 picks a free one.
	port int
	// keep leaves the temporary folder in place, for a look inside.
	keep bool
}

func main() {
	var o options
	flag.BoolVar(&o.exitAfterDemo, "exit-after-demo", false, "exit after the demonstration, non-zero if an outcome was not as expected")
	flag.IntVar(&o.port, "port", committedPort, "Gateway listener port on 127.0.0.1 (0: any free port)")
	flag.BoolVar(&o.keep, "keep", false, "do not remove the temporary folder at exit")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run is the whole quickstart. Everything it starts is stopped and the
// temporary folder removed before it returns.
func run(ctx context.Context, o options, out io.Writer) error {
	return runDemo(ctx, &demo{opts: o, out: out})
}

// runDemo runs d; tests keep d to look at what it started.
func runDemo(ctx context.Context, d *demo) error {
	// The processes' output is copied in from their own goroutines.
	d.out = &lockedWriter{w: d.out}
	o, out := d.opts, d.out
	defer d.cleanup()
	if err := d.setup(ctx); err != nil {
		return err
	}
	if failed := d.demonstrate(ctx); failed > 0 {
		return fmt.Errorf("%d outcome(s) were not as expected", failed)
	}
	if o.exitAfterDemo {
		return nil
	}
	d.printTryIt()
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "\ninterrupted: stopping certgate and echo-basic")
	case <-d.gateway.done:
		return fmt.Errorf("certgate exited")
	}
	return nil
}

// lockedWriter serialises writes, so that lines from the demo and its
// processes do not interleave mid-line.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
