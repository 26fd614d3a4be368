package envtest_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certgate/certgate/test/envtest"
)

func ip(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestNoRouteLeavesNetNS proves the network rule: the test runs in its own
// network namespace, which has only lo and no route anywhere else.
func TestNoRouteLeavesNetNS(t *testing.T) {
	if !envtest.InNetNS() {
		t.Fatal("not in the private network namespace")
	}
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if parent := os.Getenv("CERTGATE_TEST_NETNS"); parent == "" || parent == self {
		t.Fatalf("network namespace %s, parent's %q: not a private namespace", self, parent)
	}

	// Only lo.
	for _, line := range strings.Split(strings.TrimSpace(ip(t, "-o", "link", "show")), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[1] != "lo:" {
			t.Errorf("unexpected interface in the test namespace: %s", line)
		}
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 1 || ifs[0].Name != "lo" || ifs[0].Flags&net.FlagUp == 0 {
		t.Errorf("interfaces = %v, want only lo, up", ifs)
	}

	// No default route, in any table, for either family; the main tables are
	// empty (local addresses live in the local table).
	for _, fam := range []string{"-4", "-6"} {
		if all := ip(t, fam, "route", "show", "table", "all"); strings.Contains(all, "default") {
			t.Errorf("ip %s route show table all has a default route:\n%s", fam, all)
		}
		if main := strings.TrimSpace(ip(t, fam, "route", "show")); main != "" {
			t.Errorf("ip %s route show (main table) is not empty:\n%s", fam, main)
		}
	}

	// The test address is on lo.
	if addrs := ip(t, "-4", "-o", "addr", "show", "dev", "lo"); !strings.Contains(addrs, " "+envtest.TestAddress()+"/32 ") {
		t.Errorf("%s not on lo:\n%s", envtest.TestAddress(), addrs)
	}

	// Dialing a non-local address fails at once: there is no route, so no
	// packet is sent. 192.0.2.1 and 2001:db8::1 are documentation addresses
	// (TEST-NET-1, RFC 3849).
	for _, addr := range []string{"192.0.2.1:80", "[2001:db8::1]:80"} {
		start := time.Now()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			_ = c.Close()
			t.Fatalf("dial %s succeeded: the namespace has a route out", addr)
		}
		if !errors.Is(err, syscall.ENETUNREACH) || !strings.Contains(err.Error(), "network is unreachable") {
			t.Errorf("dial %s: %v, want network is unreachable", addr, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("dial %s took %v, want an immediate failure", addr, d)
		}
	}
}

// TestTestAddressServes checks a backend can listen on TestAddress and be
// reached, as EndpointSlice backends must be.
func TestTestAddressServes(t *testing.T) {
	ln, err := net.Listen("tcp", net.JoinHostPort(envtest.TestAddress(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo = %q, %v", buf, err)
	}
}
