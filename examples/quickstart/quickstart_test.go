package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestQuickstartShowsTheJob runs the whole demonstration non-interactively,
// as make run does, and checks each outcome it prints; then that it left
// nothing running and nothing on disk.
func TestQuickstartShowsTheJob(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	d := &demo{opts: options{exitAfterDemo: true}, out: &out}
	err := runDemo(ctx, d)
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	// The log lines of echo-basic and certgate arrive on their own
	// streams and may land between a request line and its answer; the
	// outcomes are judged on the demonstration's own lines.
	own := ownLines(out.String())
	for _, want := range []string{
		"exit status 0: every object is accepted",
		"<- 200 OK   ok (want 200)",
		"CN=certgate-gateway (certgate's identity, Gateway spec.tls.backend.clientCertificateRef)   ok",
		"Hash= is the SHA-256 of api-gateway.crt, the pinned certificate   ok",
		"(no client certificate)\n<- 403 Forbidden   ok",
		"(someone-else: a different certificate from the same CA)\n<- 403 Forbidden   ok",
		"no X-Forwarded-Client-Cert: no policy on this rule   ok",
		"rejections counted by reason: missing=1 pin_mismatch=1   ok",
		"5 of 5 outcomes as expected",
	} {
		if !strings.Contains(own, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, p := range []*process{d.gateway, d.echo} {
		if err := syscall.Kill(-p.cmd.Process.Pid, 0); err != syscall.ESRCH {
			t.Errorf("process group of %s still exists after the demo (%v)", p.name, err)
		}
	}
	if _, err := os.Stat(d.tmp); !os.IsNotExist(err) {
		t.Errorf("temporary folder %s left behind (%v)", d.tmp, err)
	}
}

// ownLines drops the lines the demonstration relays from its child
// processes ("  echo    | ...", "  certgate| ...").
func ownLines(out string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(out, "\n") {
		if name, _, ok := strings.Cut(line, "|"); ok && (strings.TrimSpace(name) == "echo" || strings.TrimSpace(name) == "certgate") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}
