package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ca is the cluster's certificate authority, generated at every start; its
// key never leaves the state directory.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA() (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "certgate local cluster CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// issue returns a PEM certificate and PEM key for a serving (dns/ips set)
// or client certificate.
func (c *ca) issue(cn string, orgs []string, dns []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	if len(dns)+len(ips) > 0 {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err)
	}
	return n
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
	files := map[string][]byte{"ca.crt": authority.pem}

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
		kc.Clusters["local"] = &clientcmdapi.Cluster{Server: c.APIServerURL(), CertificateAuthorityData: authority.pem}
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
