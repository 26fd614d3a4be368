//go:build conformance

package readme_test

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// readmeSteps are the README commands whose outcome the test checks, in
// the README's order, each picked by a string only it contains.
func readmeSteps() []*step {
	return []*step{
		{has: "rollout status deployment/certgate", want: contains("successfully rolled out")},
		{has: "certgate pin client.crt", want: takePin},
		{has: "get clientcertpolicy", observe: true, want: policyAccepted},
		{has: "get gateway -o wide", observe: true, want: gatewayAddress},
		{has: "get svc -l certgate.dev/gateway-namespace=payments", want: gatewayService},
		{has: "https://api.payments.example/", hasNot: "--cert", observe: true, want: forbidden},
		{has: "--cert client.crt", observe: true, want: contains("200")},
		{has: "/proxy/metrics", observe: true, want: rejectionsCounted},
		{has: "wait --for=delete service", want: gatewayServiceGone},
		{has: "helm uninstall certgate", want: releaseGone},
		{has: "delete crd clientcertpolicies.certgate.dev", want: gone("crd", "clientcertpolicies.certgate.dev")},
	}
}

func contains(s string) func(*run, string) error {
	return func(_ *run, out string) error {
		if !strings.Contains(out, s) {
			return fmt.Errorf("does not say %q", s)
		}
		return nil
	}
}

// pinLine is the line of `certgate pin`'s pins: block for a leaf.
var pinLine = regexp.MustCompile(`(?m)^- sha256: "([0-9a-f]{64})"`)

// takePin checks that `certgate pin client.crt` printed the certificate's
// sha256 in its pins: block, and has the README's policy take it.
func takePin(r *run, out string) error {
	m := pinLine.FindAllStringSubmatch(out, -1)
	if len(m) != 1 || m[0][1] != r.w.clientPin {
		return final{fmt.Errorf("want one pins: entry, the sha256 of client.crt %s", r.w.clientPin)}
	}
	r.substitutions[pinPlaceholder] = m[0][1]
	return nil
}

// policyAccepted: the ACCEPTED column of the policy's row says True.
func policyAccepted(_ *run, out string) error {
	lines := strings.Split(out, "\n")
	col := strings.Index(lines[0], "ACCEPTED")
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "only-the-api-gateway ") && col >= 0 && len(l) > col {
			if v := strings.Fields(l[col:]); len(v) > 0 && v[0] == "True" {
				return nil
			}
		}
	}
	return errors.New("the ACCEPTED column of only-the-api-gateway is not True")
}

// gatewayAddress: the Gateway shows an address from the cluster's
// load-balancer pool, which the test remembers.
func gatewayAddress(r *run, out string) error {
	_, pool, err := net.ParseCIDR(r.c.LoadBalancerPool)
	if err != nil {
		return final{err}
	}
	for _, f := range strings.Fields(out) {
		if ip := net.ParseIP(f); ip != nil && pool.Contains(ip) {
			r.address = f
			return nil
		}
	}
	return fmt.Errorf("no address from the load-balancer pool %s", r.c.LoadBalancerPool)
}

// gatewayService: the Gateway's Service is a LoadBalancer with the
// Gateway's address.
func gatewayService(r *run, out string) error {
	if !strings.Contains(out, "LoadBalancer") || !strings.Contains(out, r.address) {
		return fmt.Errorf("no LoadBalancer Service with the address %s", r.address)
	}
	return nil
}

// forbidden: 403, counted for the metrics check. A 200 is final: the
// route was answered without the pinned certificate.
func forbidden(r *run, out string) error {
	switch strings.TrimSpace(out) {
	case "403":
		r.rejected++
		return nil
	case "200":
		return final{errors.New("200 without the pinned certificate")}
	}
	return errors.New("not 403")
}

// rejectionsCounted: the README's grep shows the route's rejection series;
// and the Pods' counters of requests without a certificate, read one by
// one, add up to the 403s the README's curl received.
func rejectionsCounted(r *run, out string) error {
	if !rejectionLine.MatchString(out) {
		return errors.New("no rejection series of payments/payments-api with reason missing")
	}
	sum, pods, err := r.rejectionsPerPod()
	if err != nil {
		return err
	}
	r.t.Logf("rejections of payments/payments-api, reason missing, per Pod: %v", pods)
	if sum != r.rejected {
		return final{fmt.Errorf("the Pods counted %d rejections, the README's curl received %d 403s", sum, r.rejected)}
	}
	return nil
}

var rejectionLine = regexp.MustCompile(`(?m)^certgate_clientcert_rejections_total\{mode="enforce",namespace="payments"[^}]*reason="missing"[^}]*route="payments-api"[^}]*\} (\d+)$`)

// rejectionsPerPod scrapes every certgate Pod through the API server's Pod
// proxy and sums the route's rejections for a missing certificate.
func (r *run) rejectionsPerPod() (int, map[string]int, error) {
	names, err := r.kubectl("-n", "certgate-system", "get", "pods", "-l", "app.kubernetes.io/name=certgate",
		"-o", "jsonpath={.items[*].metadata.name}")
	if err != nil || len(strings.Fields(names)) != 2 {
		return 0, nil, fmt.Errorf("want the 2 certgate Pods, have %q (%v)", names, err)
	}
	sum, pods := 0, map[string]int{}
	for _, pod := range strings.Fields(names) {
		text, err := r.kubectl("get", "--raw", "/api/v1/namespaces/certgate-system/pods/"+pod+":9090/proxy/metrics")
		if err != nil {
			return 0, nil, err
		}
		for _, m := range rejectionLine.FindAllStringSubmatch(text, -1) {
			n, _ := strconv.Atoi(m[1])
			pods[pod] += n
			sum += n
		}
	}
	return sum, pods, nil
}

// gatewayServiceGone: no Service of a Gateway in payments is left.
func gatewayServiceGone(r *run, _ string) error {
	out, err := r.kubectl("get", "svc", "-A", "-l", "certgate.dev/gateway-namespace=payments", "-o", "name")
	if err != nil || strings.TrimSpace(out) != "" {
		return fmt.Errorf("Services of payments' Gateways: %q (%v)", out, err)
	}
	return nil
}

// releaseGone: helm uninstall removed the Deployment and the GatewayClass.
func releaseGone(r *run, out string) error {
	for _, check := range []func(*run, string) error{
		gone("-n certgate-system deployment", "certgate"), gone("gatewayclass", "certgate"),
	} {
		if err := check(r, out); err != nil {
			return err
		}
	}
	return nil
}

// gone: the object is not found, within half a minute (deletions through
// finalizers or the garbage collector take a moment).
func gone(kind, name string) func(*run, string) error {
	return func(r *run, _ string) error {
		deadline := time.Now().Add(30 * time.Second)
		for {
			out, err := r.kubectl(append(strings.Fields("get "+kind), name)...)
			if err != nil && strings.Contains(out, "NotFound") {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s %s is still there: %s", kind, name, out)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// kubectl runs the cluster's kubectl as its admin, for the test's own
// checks, and returns its combined output.
func (r *run) kubectl(args ...string) (string, error) {
	cmd := exec.Command(r.c.Kubectl(), append([]string{"--kubeconfig=" + r.c.Kubeconfig()}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
