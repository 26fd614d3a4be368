package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testconfig"
	"github.com/certgate/certgate/internal/testlog"
	"github.com/certgate/certgate/internal/testnet"
)

// documentedStatus mirrors the /status document of docs/standalone.md,
// field for field; decoding with DisallowUnknownFields fails on any
// member the documentation does not show.
type documentedStatus struct {
	Applied  int       `json:"applied"`
	Error    *string   `json:"error"`
	Problems *[]string `json:"problems"`
	Status   *struct {
		GatewayClasses []struct {
			Name   string          `json:"name"`
			Status json.RawMessage `json:"status"`
		} `json:"gatewayClasses"`
		Gateways           []documentedObject `json:"gateways"`
		HTTPRoutes         []documentedObject `json:"httpRoutes"`
		BackendTLSPolicies []documentedObject `json:"backendTLSPolicies"`
		ClientCertPolicies []documentedObject `json:"clientCertPolicies"`
	} `json:"status"`
}

type documentedObject struct {
	Namespace string          `json:"namespace"`
	Name      string          `json:"name"`
	Status    json.RawMessage `json:"status"`
}

var statusAddress = regexp.MustCompile(`status on (http://\S+/status)`)

func TestStatusHasTheDocumentedShape(t *testing.T) {
	dir, port := t.TempDir(), testnet.FreePort(t)
	writeConfigFile(t, dir, "gateway.yaml", fmt.Sprintf(testconfig.GatewayYAML, port, newBackend(t)))
	writeConfigFile(t, dir, "route.yaml", fmt.Sprintf(testconfig.RouteYAML, "/"))
	_, out := startStandalone(t, dir, port)
	var st documentedStatus
	eventually(t, 5*time.Second, "a /status with one applied configuration", func() bool {
		st = getStatus(t, out)
		return st.Applied == 1
	})
	if st.Error == nil || *st.Error != "" || st.Problems == nil || st.Status == nil {
		t.Fatalf("error, problems or status missing: %+v", st)
	}
	gw, route := st.Status.Gateways, st.Status.HTTPRoutes
	if len(gw) != 1 || gw[0].Namespace != "default" || gw[0].Name != "gw" || len(gw[0].Status) == 0 {
		t.Errorf("gateways %+v, want default/gw with a status", gw)
	}
	if len(route) != 1 || route[0].Namespace != "default" || route[0].Name != "api" {
		t.Errorf("httpRoutes %+v, want default/api", route)
	}
	if c := st.Status.GatewayClasses; len(c) != 1 || c[0].Name != "certgate" {
		t.Errorf("gatewayClasses %+v, want the synthesised certgate", c)
	}
}

// getStatus fetches /status from the address standalone printed and
// decodes it strictly; a zero value while it is not serving yet.
func getStatus(t *testing.T, out *testlog.Buffer) documentedStatus {
	t.Helper()
	var st documentedStatus
	m := statusAddress.FindStringSubmatch(out.String())
	if m == nil {
		return st
	}
	res, err := http.Get(m[1])
	if err != nil {
		return st
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("/status does not have the documented shape: %v", err)
	}
	return st
}
