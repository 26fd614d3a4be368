package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
)

// body is what the backend answers to every request: small, so that the
// figures measure the proxy, not copying.
var body = []byte("hello from the bench backend\n")

// runBackend serves body over plain HTTP on one address and over TLS that
// requires a client certificate of the bench CA on another: the backend of
// every peer and of the direct rows. It runs as its own process, pinned by
// the caller to the load generator's CPU.
func runBackend(args []string) error {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	dir := fs.String("dir", "", "key material folder")
	plain := fs.String("http", "", "plain HTTP address")
	secure := fs.String("tls", "", "mTLS address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m := &material{dir: *dir}
	tlsConf, err := backendTLS(m)
	if err != nil {
		return err
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	})
	pl, err := net.Listen("tcp", *plain)
	if err != nil {
		return err
	}
	tl, err := net.Listen("tcp", *secure)
	if err != nil {
		return err
	}
	errs := make(chan error, 2)
	go func() { errs <- http.Serve(pl, handler) }()
	go func() { errs <- http.Serve(tls.NewListener(tl, tlsConf), handler) }()
	fmt.Fprintln(os.Stdout, "ready")
	return <-errs
}

func backendTLS(m *material) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(m.path("backend.crt"), m.path("backend.key"))
	if err != nil {
		return nil, err
	}
	ca, err := readCert(m.path("ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}, nil
}
