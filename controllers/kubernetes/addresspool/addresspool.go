package addresspool

import (
	"fmt"
	"hash/fnv"
	"math/big"
	"net"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Pool assigns each Gateway an IP address from a CIDR, for bare
// metal and the local test cluster, where certgate binds each Gateway on
// its own address instead of behind a provisioned Service.
//
// The address is a hash of the Gateway's namespace and name, so every
// replica computes the same one without coordination, and a Gateway keeps
// its address whatever other Gateways come and go. The price is that two
// Gateways can collide: size the pool well above the number of Gateways
// (with n Gateways in a pool of m addresses, a collision is likely once n
// approaches √m). A Gateway that sets spec.addresses gets that address
// instead, if it is in the pool.
type Pool struct {
	network *net.IPNet
	first   *big.Int // first usable address
	size    *big.Int // number of usable addresses
}

// New parses a CIDR such as 10.203.1.0/24. In IPv4 pools larger
// than /31 the network and broadcast addresses are left out.
func New(cidr string) (*Pool, error) {
	_, network, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("address pool %q: %w", cidr, err)
	}
	ones, bits := network.Mask.Size()
	size := new(big.Int).Lsh(big.NewInt(1), uint(bits-ones))
	first := new(big.Int).SetBytes(network.IP)
	if bits == 32 && bits-ones >= 2 {
		first.Add(first, big.NewInt(1))
		size.Sub(size, big.NewInt(2))
	}
	return &Pool{network: network, first: first, size: size}, nil
}

// Assign returns the address for gw; it always has one.
func (p *Pool) Assign(gw *gatewayv1.Gateway) (string, bool) {
	if len(gw.Spec.Addresses) > 0 {
		if ip := net.ParseIP(gw.Spec.Addresses[0].Value); ip != nil && p.network.Contains(ip) {
			return ip.String(), true
		}
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(gw.Namespace + "/" + gw.Name))
	n := new(big.Int).SetUint64(h.Sum64())
	n.Mod(n, p.size).Add(n, p.first)
	return p.ip(n).String(), true
}

func (p *Pool) ip(n *big.Int) net.IP {
	ip := make(net.IP, len(p.network.IP))
	n.FillBytes(ip)
	return ip
}
