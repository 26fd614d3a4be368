package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/clientcert"
)

// print writes the explanation as text or JSON.
func (e explanation) print(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	}
	d := e.Decision
	fmt.Fprintf(w, "request   %s %s\n", e.Request.Method, e.Request.URL)
	if c := e.Request.ClientCertificate; c != "" {
		fmt.Fprintf(w, "cert      %s\n", c)
	} else if e.Request.TLS {
		fmt.Fprintln(w, "cert      none")
	}
	if d.Listener != "" {
		fmt.Fprintf(w, "listener  %s (Gateway %s)\n", d.Listener, d.Gateway)
	}
	if d.Route != "" {
		fmt.Fprintf(w, "route     HTTPRoute %s, rule %s\n", d.Route, d.Rule)
	}
	fmt.Fprintf(w, "policy    %s\n", policyText(d))
	for _, b := range d.Backends {
		fmt.Fprintf(w, "backend   %s\n", backendText(b))
	}
	fmt.Fprintf(w, "verdict   %s\n", verdictText(d))
	for _, n := range e.Notes {
		fmt.Fprintf(w, "note      %s\n", n)
	}
	return nil
}

func policyText(d *dataplane.Decision) string {
	switch {
	case d.Route == "":
		return "- (no rule matched)"
	case d.Policy == "":
		return "none: the rule asks nothing of the client certificate"
	}
	return fmt.Sprintf("ClientCertPolicy %s (%s)", d.Policy, d.Mode)
}

func verdictText(d *dataplane.Decision) string {
	status := "proxied"
	if d.Status != 0 {
		status = fmt.Sprintf("%d %s", d.Status, http.StatusText(d.Status))
	}
	if d.GRPCStatus != nil {
		status += fmt.Sprintf(" (to a gRPC client: grpc-status %d %s)", d.GRPCStatus.Code, d.GRPCStatus.Name)
	}
	reason := ""
	switch {
	case d.Reason == string(clientcert.ReasonPathConfusion):
		reason = fmt.Sprintf(" [%s: guarded by ClientCertPolicy %s]", d.Reason, d.GuardedBy)
	case d.Reason != "":
		reason = " [" + d.Reason + "]"
	}
	text := status + reason + ": " + d.Why
	if d.Location != "" {
		text += " to " + d.Location
	}
	return text
}

// certSummary names a client certificate by subject, SHA-256 pin and
// expiry.
func certSummary(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return fmt.Sprintf("%s, sha256:%s, valid until %s", clientcert.Subject(c), hex.EncodeToString(sum[:]), c.NotAfter.UTC().Format("2006-01-02T15:04:05Z"))
}

func backendText(b dataplane.Backend) string {
	switch {
	case b.Invalid != "":
		return fmt.Sprintf("%s weight %d: invalid, answered 500: %s", b.Name, b.Weight, b.Invalid)
	case b.Endpoints == 0:
		return fmt.Sprintf("%s weight %d: no endpoint, answered 503", b.Name, b.Weight)
	}
	return fmt.Sprintf("%s weight %d, %d endpoint(s)", b.Name, b.Weight, b.Endpoints)
}
