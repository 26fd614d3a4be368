package upstream

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// SANMismatchError reports a backend certificate that chains to a trusted
// root but carries none of the subject alternative names its
// BackendTLSPolicy accepts.
type SANMismatchError struct {
	// Want are the accepted names, as configured ("DNS:api.example",
	// "URI:spiffe://...").
	Want []string
	// Got are the DNS and URI names the certificate carries. They come from
	// the backend: fit for a log line, never for a metric label.
	Got []string
}

// Error implements error.
func (e *SANMismatchError) Error() string {
	return fmt.Sprintf("tls: backend certificate names [%s] match none of the accepted subject alternative names [%s]",
		strings.Join(e.Got, ", "), strings.Join(e.Want, ", "))
}

// sanMatcher holds a policy's accepted names, split by type.
type sanMatcher struct {
	hostnames []string
	uris      []string
}

func newSANMatcher(backend string, sans []snapshot.BackendSAN) (sanMatcher, error) {
	var m sanMatcher
	for i, san := range sans {
		switch san.Type {
		case snapshot.BackendSANHostname:
			m.hostnames = append(m.hostnames, san.Value)
		case snapshot.BackendSANURI:
			m.uris = append(m.uris, san.Value)
		default:
			return sanMatcher{}, fmt.Errorf("backend %s: tls.subjectAltNames[%d]: unknown type %q (want Hostname or URI)", backend, i, san.Type)
		}
	}
	return m, nil
}

// match returns nil when leaf carries one of the accepted names.
//
// A Hostname is matched the way a browser matches a host: by
// x509.Certificate.VerifyHostname, so a wildcard certificate
// ("*.svc.example") covers "api.svc.example", case does not matter, and
// the subject common name is ignored. A URI must equal a URI SAN exactly,
// as SPIFFE IDs are compared.
func (m sanMatcher) match(leaf *x509.Certificate) error {
	for _, h := range m.hostnames {
		if leaf.VerifyHostname(h) == nil {
			return nil
		}
	}
	for _, u := range leaf.URIs {
		if slices.Contains(m.uris, u.String()) {
			return nil
		}
	}
	return &SANMismatchError{Want: m.names(), Got: certNames(leaf)}
}

func (m sanMatcher) names() []string {
	var out []string
	for _, h := range m.hostnames {
		out = append(out, "DNS:"+h)
	}
	for _, u := range m.uris {
		out = append(out, "URI:"+u)
	}
	return out
}

func certNames(leaf *x509.Certificate) []string {
	var out []string
	for _, d := range leaf.DNSNames {
		out = append(out, "DNS:"+d)
	}
	for _, u := range leaf.URIs {
		out = append(out, "URI:"+u.String())
	}
	return out
}
