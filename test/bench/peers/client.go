package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// target is where one scenario sends its requests.
type target struct {
	port int
	// sni is empty for plain HTTP; otherwise the client speaks TLS 1.3
	// with X25519 and sends this server name.
	sni  string
	host string
	path string
	// cert makes the client present its certificate.
	cert bool
	// certName is the certificate presented, "client" when empty.
	certName string
}

// clientTLS is the client side of every TLS scenario: TLS 1.3 only, X25519
// only, HTTP/1.1 by ALPN, the proxy verified against the bench CA. A nil
// cache disables resumption.
func clientTLS(m *material, t target, cache tls.ClientSessionCache) (*tls.Config, error) {
	ca, err := readCert(m.path("ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	conf := &tls.Config{
		ServerName:         t.sni,
		RootCAs:            pool,
		MinVersion:         tls.VersionTLS13,
		CurvePreferences:   []tls.CurveID{tls.X25519},
		NextProtos:         []string{"http/1.1"},
		ClientSessionCache: cache,
	}
	if t.cert {
		name := t.certName
		if name == "" {
			name = "client"
		}
		c, err := tls.LoadX509KeyPair(m.path(name+".crt"), m.path(name+".key"))
		if err != nil {
			return nil, err
		}
		conf.Certificates = []tls.Certificate{c}
	}
	return conf, nil
}

// conn is one HTTP/1.1 client connection written by hand: wrk and h2load
// cannot present client certificates, and net/http's transport would add
// its own goroutine hand-offs to the load generator's CPU.
type conn struct {
	t       target
	tlsConf *tls.Config
	reuse   bool
	c       net.Conn
	br      *bufio.Reader
	req     []byte
}

func newConn(t target, tlsConf *tls.Config, reuse bool) *conn {
	connHdr := "keep-alive"
	if !reuse {
		connHdr = "close"
	}
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: certgate-bench\r\nConnection: %s\r\n\r\n", t.path, t.host, connHdr)
	return &conn{t: t, tlsConf: tlsConf, reuse: reuse, req: []byte(req)}
}

// do sends one request and reads the answer. It reports whether the TLS
// session was resumed on a new connection.
func (c *conn) do() (resumed bool, err error) {
	if c.c == nil {
		if resumed, err = c.dial(); err != nil {
			return false, err
		}
	}
	status, closeAfter, err := c.roundTrip()
	if err != nil || closeAfter || !c.reuse {
		c.close()
	}
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("status %d", status)
	}
	return resumed, err
}

func (c *conn) dial() (bool, error) {
	raw, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(c.t.port), 5*time.Second)
	if err != nil {
		return false, err
	}
	c.c = raw
	resumed := false
	if c.tlsConf != nil {
		tc := tls.Client(raw, c.tlsConf)
		if err := tc.Handshake(); err != nil {
			_ = raw.Close()
			c.c = nil
			return false, err
		}
		resumed = tc.ConnectionState().DidResume
		c.c = tc
	}
	if c.br == nil {
		c.br = bufio.NewReaderSize(c.c, 16<<10)
	} else {
		c.br.Reset(c.c)
	}
	return resumed, nil
}

func (c *conn) roundTrip() (status int, closeAfter bool, err error) {
	_ = c.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.c.Write(c.req); err != nil {
		return 0, true, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, true, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Close || err != nil, err
}

func (c *conn) close() {
	if c.c != nil {
		_ = c.c.Close()
		c.c = nil
	}
}
