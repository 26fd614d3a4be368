package files

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/certgate/certgate/controllers/pipeline"
	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// Check validates a configuration directory without serving it, like
// nginx -t: it prints every object's conditions and every problem, one
// line each, and reports whether everything is accepted. A file that does
// not decode (each one is printed), a directory without YAML files, a
// translation that panics, a snapshot the data plane would refuse (it is
// compiled as serving would, without opening a socket: dataplane.Compile),
// or any problem line makes it false.
func Check(dir string, now time.Time, out io.Writer) bool {
	if names, err := yamlFiles(dir); err == nil && len(names) == 0 {
		fmt.Fprintf(out, "error: %s holds no *.yaml or *.yml file: nothing to check\n", dir)
		return false
	}
	l, err := Load(dir)
	if err != nil {
		for _, e := range loadErrors(err) {
			fmt.Fprintf(out, "error: %v\n", e)
		}
		return false
	}
	// The runner brings the same panic isolation as serving; its
	// "data plane" only compiles, so no socket is opened.
	r := &pipeline.Runner{
		Dataplane: validator{},
		Log:       slog.New(slog.DiscardHandler),
		Now:       func() time.Time { return now },
	}
	result, err := r.Run(l.Resources)
	if result == nil {
		fmt.Fprintf(out, "error: %v\n", err)
		return false
	}
	lines := Lines(&result.Status, l)
	for _, line := range lines {
		fmt.Fprintln(out, line.Text)
	}
	if err != nil {
		fmt.Fprintf(out, "error: the translated configuration is not valid: %v\n", err)
	}
	if l.Synthesised {
		fmt.Fprintf(out, "note: %s has no GatewayClass; Gateways of class %q are served\n", dir, ClassName)
	}
	return err == nil && len(Problems(lines)) == 0
}

// validator is the Applier of Check: it compiles and keeps nothing.
type validator struct{}

func (validator) Apply(s *snapshot.Snapshot) error { return dataplane.Compile(s) }
