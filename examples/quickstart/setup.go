package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// plainHTTP is the client for echo-basic's health check and certgate's
// /metrics and /status, all plain HTTP on 127.0.0.1.
var plainHTTP = &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}

// demo is one run of the quickstart: its folder, certificates, ports and
// processes.
type demo struct {
	opts options
	out  io.Writer

	tmp, configDir, pkiDir string
	pki                    *demoPKI
	certgate, echoBin      string
	port, echoPort         int
	metricsAddr            string
	echo, gateway          *process
}

// setup does everything up to a serving gateway.
func (d *demo) setup(ctx context.Context) error {
	steps := []struct {
		what string
		do   func(context.Context) error
	}{
		{"generating a demo CA and certificates", d.makePKI},
		{"building certgate and echo-basic (" + echoPackage + ")", d.build},
		{"writing the configuration", d.writeConfig},
		{"starting echo-basic on 127.0.0.1 (TLS, verifying client certificates)", d.startEcho},
		{"certgate standalone --check", d.check},
		{"starting certgate standalone", d.startGateway},
	}
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(d.out, "\n== %d. %s\n", i+1, s.what)
		if err := s.do(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

func (d *demo) makePKI(context.Context) error {
	tmp, err := os.MkdirTemp("", "certgate-quickstart-")
	if err != nil {
		return err
	}
	d.tmp, d.configDir, d.pkiDir = tmp, filepath.Join(tmp, "config"), filepath.Join(tmp, "pki")
	for _, dir := range []string{d.configDir, d.pkiDir, filepath.Join(tmp, "bin")} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return err
		}
	}
	if d.pki, err = newPKI(d.pkiDir); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %s: CA, gateway and echo serving certificates, clients api-gateway and someone-else, certgate's backend identity certgate-gateway\n", d.pkiDir)
	return nil
}

// build builds both binaries at once; the Go build cache makes every run
// after the first take seconds.
func (d *demo) build(ctx context.Context) error {
	bin := filepath.Join(d.tmp, "bin")
	var wg sync.WaitGroup
	var errCG, errEcho error
	wg.Go(func() { d.certgate, errCG = buildCertgate(ctx, bin) })
	wg.Go(func() { d.echoBin, errEcho = buildEcho(ctx, bin) })
	wg.Wait()
	return errors.Join(errCG, errEcho)
}

func (d *demo) writeConfig(context.Context) error {
	var err error
	if d.port == 0 {
		d.port = d.opts.port
	}
	if d.port == 0 {
		if d.port, err = freePort(); err != nil {
			return err
		}
	}
	if d.echoPort, err = freePort(); err != nil {
		return err
	}
	if err := writeConfig(d.configDir, d.pki, d.port, d.echoPort); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   %s: gateway.yaml route.yaml policy.yaml backendtls.yaml from examples/quickstart, and generated.yaml (keys, pins, backend address)\n", d.configDir)
	return nil
}

func (d *demo) startEcho(ctx context.Context) error {
	httpPort, err1 := freePort()
	h2cPort, err2 := freePort()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	env := []string{
		"HTTPS_PORT=" + strconv.Itoa(d.echoPort), "HTTP_PORT=" + strconv.Itoa(httpPort), "H2C_PORT=" + strconv.Itoa(h2cPort),
		"TLS_SERVER_CERT=" + d.pki.echo.CertFile, "TLS_SERVER_PRIVKEY=" + d.pki.echo.KeyFile,
		"TLS_CLIENT_CACERTS=" + d.pki.ca.CertFile,
		"NAMESPACE=demo", "SERVICE_NAME=echo", "POD_NAME=echo-basic-local",
	}
	var err error
	if d.echo, err = start("echo", d.echoBin, nil, env, d.out); err != nil {
		return err
	}
	// Ready when its plain HTTP port answers /health: probing the TLS port
	// with a bare connection would make it log a handshake error.
	health := fmt.Sprintf("http://127.0.0.1:%d/health", httpPort)
	return waitFor(ctx, d.echo, 10*time.Second, func() error {
		resp, err := plainHTTP.Get(health)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	})
}

// check runs certgate standalone --check on the configuration.
func (d *demo) check(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, d.certgate, "standalone", "--check", d.configDir)
	out, err := cmd.CombinedOutput()
	fmt.Fprint(d.out, indentLines(string(out), "   "))
	if err != nil {
		return fmt.Errorf("the configuration has problems (%v)", err)
	}
	fmt.Fprintln(d.out, "   exit status 0: every object is accepted")
	return nil
}

func (d *demo) startGateway(ctx context.Context) error {
	mport, err := freePort()
	if err != nil {
		return err
	}
	d.metricsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(mport))
	args := []string{"standalone", "--config", d.configDir, "--metrics-address", d.metricsAddr}
	if d.gateway, err = start("certgate", d.certgate, args, nil, d.out); err != nil {
		return err
	}
	return waitFor(ctx, d.gateway, 15*time.Second, func() error {
		if err := d.applied(); err != nil {
			return err
		}
		return dial(d.port)
	})
}

// applied asks /status whether a configuration is serving.
func (d *demo) applied() error {
	resp, err := plainHTTP.Get("http://" + d.metricsAddr + "/status")
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var st struct {
		Applied int    `json:"applied"`
		Error   string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return err
	}
	if st.Applied == 0 {
		return fmt.Errorf("no configuration applied yet %s", st.Error)
	}
	return nil
}

func dial(port int) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err == nil {
		_ = c.Close()
	}
	return err
}

// cleanup stops the processes (certgate first, so it drains) and removes
// the temporary folder.
func (d *demo) cleanup() {
	if d.gateway != nil {
		d.gateway.stop(20 * time.Second)
	}
	if d.echo != nil {
		d.echo.stop(5 * time.Second)
	}
	if d.tmp == "" {
		return
	}
	if d.opts.keep {
		fmt.Fprintf(d.out, "kept %s\n", d.tmp)
		return
	}
	if err := os.RemoveAll(d.tmp); err == nil {
		fmt.Fprintf(d.out, "removed %s; nothing is left running\n", d.tmp)
	}
}
