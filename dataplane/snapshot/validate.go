package snapshot

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Validate checks what the data plane needs to hold before it compiles a
// snapshot: names present, ports in range, listeners sharing a socket agree
// on their protocol, TLS present exactly on HTTPS listeners, match and
// filter fields set for their types. Every error names the field at fault,
// starting at the listener ("listeners[0] (ns/gw/https).routes[1] ...").
// All problems are reported together.
func (s *Snapshot) Validate() error { return s.ValidateExcept(nil) }

// ValidateExcept is Validate without the checks of the routes for which
// known reports true (given the listener and the route's index in it): routes validated before, unchanged, on a listener of
// the same name and protocol. Everything else is checked as Validate
// checks it, with the same errors: the listeners whole, TLS listeners'
// routes included, and every other route. A nil known skips nothing.
func (s *Snapshot) ValidateExcept(known func(l *Listener, route int) bool) error {
	var errs []error
	sockets := map[string]int{}
	names := map[string]bool{}
	for i := range s.Listeners {
		l := &s.Listeners[i]
		at := fmt.Sprintf("listeners[%d] (%s)", i, l.Name)
		if l.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: must not be empty", at))
		} else if names[l.Name] {
			errs = append(errs, fmt.Errorf("%s.name: duplicate listener name", at))
		}
		names[l.Name] = true
		errs = append(errs, l.validate(at, known)...)
		if first, ok := sockets[l.socket()]; ok && !shareable(s.Listeners[first].Protocol, l.Protocol) {
			errs = append(errs, fmt.Errorf("%s.protocol: %s conflicts with %s on listeners[%d], which shares %s", at, l.Protocol, s.Listeners[first].Protocol, first, l.socket()))
		} else if ok && s.Listeners[first].publicPort() != l.publicPort() {
			errs = append(errs, fmt.Errorf("%s.publicPort: %d conflicts with %d on listeners[%d], which shares %s", at, l.publicPort(), s.Listeners[first].publicPort(), first, l.socket()))
		} else if !ok {
			sockets[l.socket()] = i
		}
	}
	return errors.Join(errs...)
}

// shareable reports whether listeners of protocols a and b may share a
// socket: the same protocol, or HTTPS and TLS, which the ClientHello's SNI
// tells apart before anything is terminated.
func shareable(a, b Protocol) bool {
	tlsFamily := func(p Protocol) bool { return p == ProtocolHTTPS || p == ProtocolTLS }
	return a == b || tlsFamily(a) && tlsFamily(b)
}

// publicPort is the port clients connect to.
func (l *Listener) publicPort() int32 {
	if l.PublicPort != 0 {
		return l.PublicPort
	}
	return l.Port
}

// socket is the address and port a listener binds, in net.Dial form.
func (l *Listener) socket() string {
	return net.JoinHostPort(l.Address, fmt.Sprint(l.Port))
}

func (l *Listener) validate(at string, known func(l *Listener, route int) bool) []error {
	var errs []error
	if l.Port < 1 || l.Port > 65535 {
		errs = append(errs, fmt.Errorf("%s.port: %d is not between 1 and 65535", at, l.Port))
	}
	if l.PublicPort < 0 || l.PublicPort > 65535 {
		errs = append(errs, fmt.Errorf("%s.publicPort: %d is not between 0 and 65535", at, l.PublicPort))
	}
	if l.Address != "" && net.ParseIP(l.Address) == nil {
		errs = append(errs, fmt.Errorf("%s.address: %q is not an IP address", at, l.Address))
	}
	if err := validateHostname(l.Hostname); err != nil {
		errs = append(errs, fmt.Errorf("%s.hostname: %w", at, err))
	}
	switch l.Protocol {
	case ProtocolHTTP:
		if l.TLS != nil {
			errs = append(errs, fmt.Errorf("%s.tls: must be empty for protocol HTTP", at))
		}
	case ProtocolHTTPS:
		errs = append(errs, l.TLS.validate(at+".tls")...)
	case ProtocolTLS:
		errs = append(errs, l.validateStream(at)...)
	default:
		errs = append(errs, fmt.Errorf("%s.protocol: %q is not HTTP, HTTPS or TLS", at, l.Protocol))
	}
	if l.Protocol != ProtocolTLS && l.TLSMode != "" {
		errs = append(errs, fmt.Errorf("%s.tlsMode: must be empty for protocol %s", at, l.Protocol))
	}
	for i := range l.Routes {
		r := &l.Routes[i]
		if known != nil && known(l, i) {
			continue
		}
		at := fmt.Sprintf("%s.routes[%d] (%s/%s)", at, i, r.Namespace, r.Name)
		if l.Protocol != ProtocolTLS && r.Kind == RouteKindTLS {
			errs = append(errs, fmt.Errorf("%s.kind: a %s listener takes HTTPRoutes and GRPCRoutes", at, l.Protocol))
		}
		errs = append(errs, r.validate(at)...)
	}
	return errs
}

// validateStream checks a TLS listener: its mode, TLS exactly when it
// terminates, and TLSRoutes of one rule without matches or filters.
func (l *Listener) validateStream(at string) []error {
	var errs []error
	switch l.TLSMode {
	case TLSTerminate:
		errs = append(errs, l.TLS.validate(at+".tls")...)
	case TLSPassthrough:
		if l.TLS != nil {
			errs = append(errs, fmt.Errorf("%s.tls: must be empty in mode Passthrough", at))
		}
	default:
		errs = append(errs, fmt.Errorf("%s.tlsMode: %q is not Passthrough or Terminate", at, l.TLSMode))
	}
	for i, r := range l.Routes {
		if r.Kind != RouteKindTLS || len(r.Rules) != 1 || len(r.Rules[0].Matches) > 0 || len(r.Rules[0].Filters) > 0 {
			errs = append(errs, fmt.Errorf("%s.routes[%d] (%s/%s): a TLS listener takes TLSRoutes of one rule without matches or filters", at, i, r.Namespace, r.Name))
		} else if l.TLSMode == TLSPassthrough && r.Rules[0].ClientCert != nil {
			// Nothing is terminated, so nothing could be judged: refuse
			// rather than serve a requirement that is silently ignored.
			errs = append(errs, fmt.Errorf("%s.routes[%d] (%s/%s).rules[0].clientCert: a Passthrough listener cannot judge client certificates", at, i, r.Namespace, r.Name))
		}
	}
	return errs
}

func (t *ListenerTLS) validate(at string) []error {
	if t == nil {
		return []error{fmt.Errorf("%s: required for protocol HTTPS", at)}
	}
	var errs []error
	if len(t.Certificates) == 0 {
		errs = append(errs, fmt.Errorf("%s.certificates: at least one serving certificate is required", at))
	}
	for i, c := range t.Certificates {
		if len(c.CertPEM) == 0 || len(c.Key) == 0 {
			errs = append(errs, fmt.Errorf("%s.certificates[%d] (%s): certificate and key are both required", at, i, c.Name))
		}
	}
	if v := t.FrontendValidation; v != nil {
		if v.Mode != AllowValidOnly && v.Mode != AllowInsecureFallback {
			errs = append(errs, fmt.Errorf("%s.frontendValidation.mode: %q is not AllowValidOnly or AllowInsecureFallback", at, v.Mode))
		}
		if len(v.CACertificates) == 0 {
			errs = append(errs, fmt.Errorf("%s.frontendValidation.caCertificates: at least one is required", at))
		}
	}
	return errs
}

func (r *Route) validate(at string) []error {
	var errs []error
	if r.Name == "" || r.Namespace == "" {
		errs = append(errs, fmt.Errorf("%s: namespace and name are required", at))
	}
	if r.Kind != RouteKindHTTP && r.Kind != RouteKindGRPC && r.Kind != RouteKindTLS {
		errs = append(errs, fmt.Errorf("%s.kind: %q is not HTTPRoute (empty), GRPCRoute or TLSRoute", at, r.Kind))
	}
	for i, h := range r.Hostnames {
		if err := validateHostname(h); err != nil {
			errs = append(errs, fmt.Errorf("%s.hostnames[%d]: %w", at, i, err))
		}
	}
	for i := range r.Rules {
		errs = append(errs, r.Rules[i].validate(fmt.Sprintf("%s.rules[%d]", at, i))...)
	}
	return errs
}

func (r *Rule) validate(at string) []error {
	var errs []error
	for i, m := range r.Matches {
		errs = append(errs, m.validate(fmt.Sprintf("%s.matches[%d]", at, i))...)
	}
	for i, b := range r.Backends {
		if b.Weight < 0 {
			errs = append(errs, fmt.Errorf("%s.backends[%d].weight: %d is negative", at, i, b.Weight))
		}
		errs = append(errs, b.validate(fmt.Sprintf("%s.backends[%d] (%s)", at, i, b.Name))...)
	}
	if r.Retry != nil && r.Retry.Attempts < 0 {
		errs = append(errs, fmt.Errorf("%s.retry.attempts: %d is negative", at, r.Retry.Attempts))
	}
	if r.Timeouts.Request < 0 || r.Timeouts.BackendRequest < 0 {
		errs = append(errs, fmt.Errorf("%s.timeouts: durations must not be negative", at))
	}
	if r.Timeouts.Request > 0 && r.Timeouts.BackendRequest > r.Timeouts.Request {
		errs = append(errs, fmt.Errorf("%s.timeouts.backendRequest: %s is longer than request %s", at, r.Timeouts.BackendRequest, r.Timeouts.Request))
	}
	if r.ClientCert != nil {
		errs = append(errs, r.ClientCert.validate(at+".clientCert")...)
	}
	return errs
}

func (c *Requirement) validate(at string) []error {
	var errs []error
	if c.Mode != "" && c.Mode != ModeEnforce && c.Mode != ModeAudit {
		errs = append(errs, fmt.Errorf("%s.mode: %q is not Enforce or Audit", at, c.Mode))
	}
	if c.PathConfusionGuard != "" && c.PathConfusionGuard != GuardEnabled && c.PathConfusionGuard != GuardDisabled {
		errs = append(errs, fmt.Errorf("%s.pathConfusionGuard: %q is not Enabled or Disabled", at, c.PathConfusionGuard))
	}
	return errs
}

func (m *Match) validate(at string) []error {
	var errs []error
	if p := m.Path; p != nil {
		switch p.Type {
		case PathExact, PathPrefix:
			if !strings.HasPrefix(p.Value, "/") {
				errs = append(errs, fmt.Errorf("%s.path.value: %q must start with /", at, p.Value))
			}
		case PathRegularExpression:
		default:
			errs = append(errs, fmt.Errorf("%s.path.type: %q is not Exact, PathPrefix or RegularExpression", at, p.Type))
		}
	}
	for i, h := range m.Headers {
		errs = append(errs, h.validate(fmt.Sprintf("%s.headers[%d]", at, i))...)
	}
	for i, q := range m.QueryParams {
		errs = append(errs, q.validate(fmt.Sprintf("%s.queryParams[%d]", at, i))...)
	}
	return errs
}

func (v *ValueMatch) validate(at string) []error {
	var errs []error
	if v.Name == "" {
		errs = append(errs, fmt.Errorf("%s.name: must not be empty", at))
	}
	if v.Type != MatchExact && v.Type != MatchRegularExpression {
		errs = append(errs, fmt.Errorf("%s.type: %q is not Exact or RegularExpression", at, v.Type))
	}
	return errs
}

func (b *Backend) validate(at string) []error {
	if b.Invalid != "" {
		return nil
	}
	var errs []error
	if b.Name == "" {
		errs = append(errs, fmt.Errorf("%s.name: must not be empty", at))
	}
	for i, e := range b.Endpoints {
		if net.ParseIP(e.Address) == nil {
			errs = append(errs, fmt.Errorf("%s.endpoints[%d].address: %q is not an IP address", at, i, e.Address))
		}
		if e.Port < 1 || e.Port > 65535 {
			errs = append(errs, fmt.Errorf("%s.endpoints[%d].port: %d is not between 1 and 65535", at, i, e.Port))
		}
	}
	if t := b.TLS; t != nil && t.ServerName == "" {
		errs = append(errs, fmt.Errorf("%s.tls.serverName: required for a TLS backend", at))
	}
	return errs
}

// validateHostname accepts "", an exact DNS name, or "*." followed by one.
func validateHostname(h string) error {
	if h == "" {
		return nil
	}
	name := strings.TrimPrefix(h, "*.")
	if name == "" || strings.Contains(name, "*") || net.ParseIP(name) != nil {
		return fmt.Errorf("%q is not a host name or a leading-wildcard host name", h)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return fmt.Errorf("%q is not a lowercase DNS name", h)
		}
	}
	return nil
}
