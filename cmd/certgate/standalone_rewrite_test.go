package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testpki"
)

// pinOf is c's SHA-256 pin as 64 hex digits, so every policy file
// written with one has the same size.
func pinOf(c *testpki.Cert) string {
	sum := sha256.Sum256(c.Leaf.Raw)
	return hex.EncodeToString(sum[:])
}

// TestARewriteOfTheSameSizeAndTimeSwapsThePinnedClient rewrites the
// policy file with another client's pin and puts its modification time
// back: neither its size nor its time tells the change, only its
// content does, and the other client must be the one admitted, over
// real TLS.
func TestARewriteOfTheSameSizeAndTimeSwapsThePinnedClient(t *testing.T) {
	const host = "api.example.test"
	ca := testpki.NewCA(t, "standalone CA")
	serving := ca.Issue(t, testpki.Options{DNSNames: []string{host}})
	first, second := ca.Issue(t, testpki.Options{CommonName: "first"}), ca.Issue(t, testpki.Options{CommonName: "second"})
	dir, port := writePEMPolicyConfig(t, serving, "0s", first)
	policy := filepath.Join(dir, "policy.yaml")
	writeConfigFile(t, dir, "policy.yaml", fmt.Sprintf(policyYAML, pinOf(first)))
	startStandalone(t, dir, port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	firstClient, secondClient := httpsClient(ca, first, host, addr), httpsClient(ca, second, host, addr)
	eventually(t, 5*time.Second, "the first client gets 200", func() bool { return httpsStatus(firstClient, host) == 200 })
	if code := httpsStatus(secondClient, host); code != http.StatusForbidden {
		t.Fatalf("the second client before the rewrite: %d, want 403", code)
	}

	before, err := os.Stat(policy)
	if err != nil {
		t.Fatal(err)
	}
	writeConfigFile(t, dir, "policy.yaml", fmt.Sprintf(policyYAML, pinOf(second)))
	if err := os.Chtimes(policy, before.ModTime(), before.ModTime()); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(policy)
	if err != nil || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("the rewrite changed the size or time (%v): %d %v, before %d %v", err, after.Size(), after.ModTime(), before.Size(), before.ModTime())
	}
	eventually(t, 5*time.Second, "the second client gets 200", func() bool { return httpsStatus(secondClient, host) == 200 })
	if code := httpsStatus(firstClient, host); code != http.StatusForbidden {
		t.Errorf("the first client after the rewrite: %d, want 403", code)
	}
}
