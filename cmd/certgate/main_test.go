package main

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/certgate/certgate/internal/buildinfo"
)

func TestVersionPrintsVersionRevisionAndGoVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		var out, errs bytes.Buffer
		if code := run([]string{arg}, nil, &out, &errs); code != 0 {
			t.Fatalf("%s: exit %d: %s", arg, code, errs.String())
		}
		b := buildinfo.Read()
		want := "certgate " + b.Version + " (revision " + b.Revision + ", " + runtime.Version() + ")\n"
		if out.String() != want {
			t.Errorf("%s printed %q, want %q", arg, out.String(), want)
		}
	}
}
