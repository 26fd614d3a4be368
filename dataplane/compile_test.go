package dataplane_test

import (
	"net"
	"strings"
	"testing"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// TestCompileRefusesWhatApplyRefusesWithoutBinding: Compile refuses a
// snapshot Apply refuses for its content (a header regex RE2 accepts alone
// but not in the anchoring group, a serving key that does not match its
// certificate), naming the listener and route, and accepts a good one even
// when its port is taken: it opens no socket.
func TestCompileRefusesWhatApplyRefusesWithoutBinding(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := int32(taken.Addr().(*net.TCPAddr).Port)
	backend := newEcho(t, "b").weighted(1)
	good := httpListener("http", port, route("api", nil, prefixRule("/", backend)))
	if err := dataplane.Compile(&snapshot.Snapshot{Listeners: []snapshot.Listener{good}}); err != nil {
		t.Fatalf("Compile of a good snapshot on a taken port: %v", err)
	}
	if err := newGateway(t).dp.Apply(&snapshot.Snapshot{Listeners: []snapshot.Listener{good}}); err == nil {
		t.Fatal("Apply bound a taken port; the test proves nothing")
	}

	deep := prefixRule("/", backend)
	deep.Matches[0].Headers = []snapshot.ValueMatch{{Type: snapshot.MatchRegularExpression, Name: "x-deep",
		Value: strings.Repeat("(", 999) + "a" + strings.Repeat(")", 999)}}
	ca := testpki.NewCA(t, "compile CA")
	a, b := ca.Issue(t, testpki.Options{DNSNames: []string{"a.example.test"}}), ca.Issue(t, testpki.Options{DNSNames: []string{"a.example.test"}})
	mismatched := httpsListener("https", port, "a.example.test", nil, route("api", nil, prefixRule("/", backend)))
	mismatched.TLS.Certificates = []snapshot.Certificate{{Name: "default/a", CertPEM: a.CertPEM, Key: snapshot.PrivateKey(b.KeyPEM)}}
	for name, tc := range map[string]struct {
		l    snapshot.Listener
		want []string
	}{
		"deep regex":   {httpListener("http", port, route("deep", nil, deep)), []string{"listener default/gw/http", "(default/deep)", "nests too deeply"}},
		"mismatch key": {mismatched, []string{"listener default/gw/https", "private key does not match public key"}},
	} {
		s := &snapshot.Snapshot{Listeners: []snapshot.Listener{tc.l}}
		compileErr := dataplane.Compile(s)
		applyErr := newGateway(t).dp.Apply(s)
		if compileErr == nil || applyErr == nil || compileErr.Error() != applyErr.Error() {
			t.Errorf("%s: Compile: %v; Apply: %v; want the same error from both", name, compileErr, applyErr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(compileErr.Error(), w) {
				t.Errorf("%s: %q does not say %q", name, compileErr, w)
			}
		}
	}
}
