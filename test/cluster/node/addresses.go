package node

import (
	"fmt"
	"net"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// addressQuarantine is how long a released Pod address is not handed out
// again. A Pod's address is released when its network is torn down, and
// until its deletion has reached the EndpointSlices and kube-proxy's
// rules, a connection may still be sent there: to a new Pod given the same
// address it would be one that Pod never expected (or refused, before it
// listens). A kubelet's host-local IPAM hands addresses out in turn for the
// same reason.
const addressQuarantine = time.Minute

// addresses are the Pod addresses of the subnet in use, and those released
// lately. They are handed out in turn, each search starting after the last
// address handed out, skipping those in quarantine.
type addresses struct {
	used     map[string]types.UID
	released map[string]time.Time
	next     int // offset in the subnet where the next search starts
}

// allocIP gives the Pod uid an address from the subnet.
func (a *Agent) allocIP(uid types.UID) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ones, bits := a.subnet.Mask.Size()
	size := 1 << (bits - ones)
	// The network address, the node's (.1) and the broadcast address are
	// never a Pod's.
	first, n := 2, size-3
	start := max(a.ips.next, first)
	for i := range n {
		off := first + (start-first+i)%n
		ip := offsetIP(a.subnet.IP, off)
		if _, used := a.ips.used[ip]; used || time.Since(a.ips.released[ip]) < addressQuarantine {
			continue
		}
		a.ips.used[ip], a.ips.next = uid, off+1
		delete(a.ips.released, ip)
		return ip, nil
	}
	return "", fmt.Errorf("no free address in %s (addresses are reused %v after their Pod's)", a.Subnet, addressQuarantine)
}

// releaseIP puts ip in quarantine.
func (a *Agent) releaseIP(ip string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.ips.used, ip)
	a.ips.released[ip] = time.Now()
}

// offsetIP is the IPv4 address off after base.
func offsetIP(base net.IP, off int) string {
	b := base.To4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n += uint32(off)
	return net.IPv4(byte(n>>24), byte(n>>16), byte(n>>8), byte(n)).String()
}
