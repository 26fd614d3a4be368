package translator

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"slices"
	"testing"
	"time"
)

func TestRouteHostnamesIntersectWithListenerHostname(t *testing.T) {
	tests := []struct {
		listener string
		route    []string
		want     []string
		ok       bool
	}{
		{"", nil, nil, true},
		{"foo.example.com", nil, nil, true},
		{"", []string{"a.example.com"}, []string{"a.example.com"}, true},
		{"foo.example.com", []string{"*.example.com"}, []string{"foo.example.com"}, true},
		{"*.example.com", []string{"foo.example.com", "example.com"}, []string{"foo.example.com"}, true},
		{"*.example.com", []string{"*.a.example.com"}, []string{"*.a.example.com"}, true},
		{"*.a.example.com", []string{"*.example.com"}, []string{"*.a.example.com"}, true},
		{"*.example.com", []string{"a.b.example.com"}, []string{"a.b.example.com"}, true},
		{"foo.example.com", []string{"bar.example.com", "*.example.net"}, nil, false},
		{"*.example.com", []string{"*.example.com", "*.example.com"}, []string{"*.example.com"}, true},
	}
	for _, tt := range tests {
		got, ok := routeHostnames(tt.listener, tt.route)
		if ok != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("routeHostnames(%q, %q) = %q, %v; want %q, %v", tt.listener, tt.route, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseDurationAcceptsOnlyGatewayAPISyntax(t *testing.T) {
	good := map[string]time.Duration{
		"0s": 0, "1h": time.Hour, "1h2m3s500ms": time.Hour + 2*time.Minute + 3*time.Second + 500*time.Millisecond,
		"99999ms": 99999 * time.Millisecond,
	}
	for in, want := range good {
		if got, err := parseDuration(gatewayDuration(in)); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.5s", "1d", "-1s", "100000s", "1h1m1s1ms1h", "1us", " 1s"} {
		if _, err := parseDuration(gatewayDuration(in)); err == nil {
			t.Errorf("parseDuration(%q) accepted a value outside GEP-2257", in)
		}
	}
}

func gatewayDuration(s string) gatewayv1.Duration { return gatewayv1.Duration(s) }
