package snapshot

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
)

func TestPrivateKeyIsRedactedInEveryTextForm(t *testing.T) {
	// Not a key: a PEM block of that type around known bytes, so a leak
	// is easy to spot.
	secret := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte("secret")}))
	c := Certificate{Name: "ns/tls", CertPEM: []byte("cert"), Key: PrivateKey(secret)}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c),
		fmt.Sprintf("%s", c.Key), //nolint:staticcheck // the verb is what is tested
		fmt.Sprintf("%x", c.Key), fmt.Sprintf("%q", c.Key), string(js),
	} {
		if strings.Contains(out, "c2VjcmV0") || strings.Contains(out, "PRIVATE") || strings.Contains(out, fmt.Sprintf("%x", secret[:8])) {
			t.Errorf("key material leaked: %s", out)
		}
	}
	if got := string(c.Key.Bytes()); got != secret {
		t.Errorf("Bytes() = %q, want the key", got)
	}
}

func validListener() Listener {
	return Listener{
		Name: "ns/gw/http", Gateway: "ns/gw", Port: 8080, Protocol: ProtocolHTTP,
		Routes: []Route{{
			Namespace: "ns", Name: "r",
			Rules: []Rule{{
				Matches:  []Match{{Path: &PathMatch{Type: PathPrefix, Value: "/api"}}},
				Backends: []WeightedBackend{{Backend: Backend{Name: "ns/svc:80", Endpoints: []Endpoint{{Address: "127.0.0.1", Port: 9000}}}, Weight: 1}},
			}},
		}},
	}
}

func TestValidateNamesTheFieldAtFault(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *Snapshot)
		want   string
	}{
		{"port out of range", func(s *Snapshot) { s.Listeners[0].Port = 70000 }, "listeners[0] (ns/gw/http).port: 70000"},
		{"https without tls", func(s *Snapshot) { s.Listeners[0].Protocol = ProtocolHTTPS }, "listeners[0] (ns/gw/http).tls: required for protocol HTTPS"},
		{"tls on http", func(s *Snapshot) { s.Listeners[0].TLS = &ListenerTLS{} }, ".tls: must be empty for protocol HTTP"},
		{"bad path", func(s *Snapshot) { s.Listeners[0].Routes[0].Rules[0].Matches[0].Path.Value = "api" }, "routes[0] (ns/r).rules[0].matches[0].path.value"},
		{"bad endpoint", func(s *Snapshot) { s.Listeners[0].Routes[0].Rules[0].Backends[0].Endpoints[0].Address = "localhost" }, "rules[0].backends[0] (ns/svc:80).endpoints[0].address"},
		{"bad hostname", func(s *Snapshot) { s.Listeners[0].Hostname = "a.*.example.com" }, "listeners[0] (ns/gw/http).hostname"},
		{"bad mode", func(s *Snapshot) { s.Listeners[0].Routes[0].Rules[0].ClientCert = &Requirement{Mode: "Maybe"} }, "rules[0].clientCert.mode"},
		{"bad path confusion guard", func(s *Snapshot) {
			s.Listeners[0].Routes[0].Rules[0].ClientCert = &Requirement{PathConfusionGuard: "Off"}
		}, "rules[0].clientCert.pathConfusionGuard"},
		{"protocol clash on one socket", func(s *Snapshot) {
			other := validListener()
			other.Name, other.Protocol = "ns/gw/https", ProtocolHTTPS
			other.TLS = &ListenerTLS{Certificates: []Certificate{{Name: "ns/c", CertPEM: []byte("c"), Key: PrivateKey("k")}}}
			s.Listeners = append(s.Listeners, other)
		}, "listeners[1] (ns/gw/https).protocol: HTTPS conflicts with HTTP on listeners[0]"},
		{"tls listener without a mode", func(s *Snapshot) {
			s.Listeners[0].Protocol, s.Listeners[0].Routes = ProtocolTLS, nil
		}, `listeners[0] (ns/gw/http).tlsMode: "" is not Passthrough or Terminate`},
		{"httproute on a tls listener", func(s *Snapshot) {
			s.Listeners[0].Protocol, s.Listeners[0].TLSMode = ProtocolTLS, TLSPassthrough
		}, "routes[0] (ns/r): a TLS listener takes TLSRoutes of one rule without matches or filters"},
		{"requirement on a passthrough route", func(s *Snapshot) {
			l := &s.Listeners[0]
			l.Protocol, l.TLSMode = ProtocolTLS, TLSPassthrough
			l.Routes[0].Kind, l.Routes[0].Rules[0].Matches = RouteKindTLS, nil
			l.Routes[0].Rules[0].ClientCert = &Requirement{Policy: "ns/p"}
		}, "rules[0].clientCert: a Passthrough listener cannot judge client certificates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Snapshot{Listeners: []Listener{validListener()}}
			if err := s.Validate(); err != nil {
				t.Fatalf("valid snapshot rejected: %v", err)
			}
			tt.mutate(s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// ValidateExcept skips the checks of the routes it is told are known and
// nothing else: the other routes and the listeners are checked, with the
// errors Validate gives for them.
func TestValidateExceptSkipsOnlyKnownRoutes(t *testing.T) {
	l := validListener()
	l.Port = 0
	known, changed := l.Routes[0], l.Routes[0]
	known.Name, changed.Name = "known", "changed"
	known.Rules = []Rule{{Retry: &Retry{Attempts: -1}}}
	changed.Rules = []Rule{{Retry: &Retry{Attempts: -2}}}
	l.Routes = []Route{known, changed}
	s := &Snapshot{Listeners: []Listener{l}}
	err := s.ValidateExcept(func(l *Listener, i int) bool { return l.Routes[i].Name == "known" })
	want := strings.Join([]string{
		"listeners[0] (ns/gw/http).port: 0 is not between 1 and 65535",
		"listeners[0] (ns/gw/http).routes[1] (ns/changed).rules[0].retry.attempts: -2 is negative",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("ValidateExcept = %v, want\n%s", err, want)
	}
	all, none := s.Validate(), s.ValidateExcept(nil)
	if all == nil || none == nil || all.Error() != none.Error() || !strings.Contains(all.Error(), "(ns/known).rules[0].retry.attempts: -1") {
		t.Errorf("Validate = %v, ValidateExcept(nil) = %v: want both, with the known route's error", all, none)
	}
}
