package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestControllerRejectsBadFlagsWithExitCode2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"--gateway-address-pool", "10.0.0.0/33"}, "--gateway-address-pool"},
		{[]string{"--controller-name", "nodomain"}, "--controller-name"},
		{[]string{"--leader-elect", "--leader-election-namespace="}, "--leader-election-namespace is required"},
		{[]string{"stray"}, "unexpected arguments"},
		{[]string{"--gateway-service-type", "External"}, "--gateway-service-type"},
		{[]string{"--gateway-service-type", "LoadBalancer"}, "needs --gateway-service-selector"},
		{[]string{"--gateway-service-selector", "app"}, "--gateway-service-selector"},
		{[]string{"--gateway-container-ports", "30000-20000"}, "--gateway-container-ports"},
		{[]string{"--gateway-service-type", "NodePort", "--gateway-service-selector", "app=certgate", "--gateway-address-pool", "10.0.0.0/24"}, "exclusive"},
		{[]string{"--watch-namespaces", "apps,Bad_Name"}, `--watch-namespaces: "Bad_Name"`},
		{[]string{"--watch-namespaces", "apps,,web"}, `--watch-namespaces: ""`},
	} {
		var stderr bytes.Buffer
		if code := run(append([]string{"controller"}, tc.args...), nil, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: stderr %q does not say %q", tc.args, stderr.String(), tc.want)
		}
	}
}

func TestWatchNamespacesParsesAListWithoutDuplicates(t *testing.T) {
	f, code := parseControllerFlags([]string{"--leader-elect=false", "--watch-namespaces", "apps, web,apps"}, &bytes.Buffer{}, &bytes.Buffer{})
	if code >= 0 {
		t.Fatalf("exit %d", code)
	}
	if got := providerOptions(f, nil, nil).WatchNamespaces; !slices.Equal(got, []string{"apps", "web"}) {
		t.Errorf("WatchNamespaces = %q, want [apps web]", got)
	}
	f, _ = parseControllerFlags([]string{"--leader-elect=false"}, &bytes.Buffer{}, &bytes.Buffer{})
	if got := providerOptions(f, nil, nil).WatchNamespaces; got != nil {
		t.Errorf("without the flag WatchNamespaces = %q, want nil (every namespace)", got)
	}
}
