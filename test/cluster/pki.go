package cluster

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certgate/certgate/internal/pki"
)

// ca is the cluster's certificate authority, generated at every start; its
// key never leaves the process.
type ca struct{ *pki.CA }

func newCA() (*ca, error) {
	c, err := pki.NewCA(pki.CAOptions{Name: "certgate local cluster CA"})
	if err != nil {
		return nil, err
	}
	return &ca{c}, nil
}

// issue returns a PEM certificate and PEM key, valid for 30 days: a serving
// certificate when dns or ips are given, a client certificate otherwise.
func (c *ca) issue(cn string, orgs []string, dns []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	usage := x509.ExtKeyUsageClientAuth
	if len(dns)+len(ips) > 0 {
		usage = x509.ExtKeyUsageServerAuth
	}
	leaf, err := c.Issue(pki.Options{
		CommonName: cn, Organization: orgs, DNSNames: dns, IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, NotAfter: time.Now().Add(30 * 24 * time.Hour),
	})
	if err != nil {
		return nil, nil, err
	}
	return leaf.CertPEM, leaf.KeyPEM, nil
}

// clientIdentity is one kubeconfig the harness writes.
type clientIdentity struct {
	file string   // kubeconfig file name in the state directory
	cn   string   // user name
	orgs []string // groups
}

var identities = []clientIdentity{
	{file: "admin.kubeconfig", cn: "certgate-admin", orgs: []string{"system:masters"}},
	{file: "kube-controller-manager.kubeconfig", cn: "system:kube-controller-manager"},
	{file: "node-agent.kubeconfig", cn: nodeAgentUser},
	{file: "kube-proxy.kubeconfig", cn: kubeProxyUser},
	{file: "load-balancer.kubeconfig", cn: loadBalancerUser},
}

// writePKI generates the CA, the API server's serving certificate, the
// service-account signing key and a kubeconfig per identity into the
// state directory.
func writePKI(c *Config) error {
	dir := c.PKIDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	authority, err := newCA()
	if err != nil {
		return fmt.Errorf("generating the CA: %w", err)
	}
	files := map[string][]byte{"ca.crt": authority.PEM}

	svcIP, err := firstServiceIP(c.ServiceCIDR)
	if err != nil {
		return err
	}
	crt, key, err := authority.issue("kube-apiserver", nil,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(c.NodeIP), svcIP})
	if err != nil {
		return fmt.Errorf("issuing the API server certificate: %w", err)
	}
	files["apiserver.crt"], files["apiserver.key"] = crt, key

	// The node agent's kubelet API, and the API server's client identity
	// towards it.
	if files["kubelet.crt"], files["kubelet.key"], err = authority.issue(c.NodeName, nil, []string{c.NodeName},
		[]net.IP{net.ParseIP(c.NodeIP)}); err != nil {
		return err
	}
	if files["apiserver-kubelet-client.crt"], files["apiserver-kubelet-client.key"], err = authority.issue(
		kubeletClientUser, []string{"system:masters"}, nil, nil); err != nil {
		return err
	}

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	files["sa.key"] = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)})
	files["sa.pub"] = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub})

	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	for _, id := range identities {
		crt, key, err := authority.issue(id.cn, id.orgs, nil, nil)
		if err != nil {
			return fmt.Errorf("issuing the client certificate of %s: %w", id.cn, err)
		}
		kc := clientcmdapi.NewConfig()
		kc.Clusters["local"] = &clientcmdapi.Cluster{Server: c.APIServerURL(), CertificateAuthorityData: authority.PEM}
		kc.AuthInfos[id.cn] = &clientcmdapi.AuthInfo{ClientCertificateData: crt, ClientKeyData: key}
		kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: id.cn, Namespace: "default"}
		kc.CurrentContext = "local"
		if err := clientcmd.WriteToFile(*kc, filepath.Join(c.StateDir, id.file)); err != nil {
			return err
		}
	}
	return nil
}

func firstServiceIP(cidr string) (net.IP, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("service CIDR %q: %w", cidr, err)
	}
	ip := n.IP.To4()
	if ip == nil {
		return nil, fmt.Errorf("service CIDR %q: only IPv4 is supported", cidr)
	}
	out := make(net.IP, 4)
	copy(out, ip)
	out[3]++
	return out, nil
}
