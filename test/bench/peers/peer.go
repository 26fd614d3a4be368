package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// ports are the listeners every peer serves, and the backend's.
type ports struct {
	HTTP, HTTPS, MTLS, Admin int
	BackendHTTP, BackendTLS  int
}

// peer is one proxy under test: how to find it, configure it, start it and
// change its routes while it serves.
type peer struct {
	name string
	// pinning says what the peer's configuration can express of the
	// pinning job (CA verification plus the SHA-256 of the leaf).
	pinning string
	// canPin is false where /pinned and /pinned10k check the CA only.
	canPin bool
	// source says where the peer comes from, for the versions table.
	source string
	bin    func(env *runEnv) (string, error)
	// version prints the peer's version line.
	version func(bin string) string
	// start writes the configuration into dir and starts the peer pinned
	// to the proxy CPU; the command's process is the root of its tree.
	start func(r *peerRun) (*exec.Cmd, error)
	// change applies route change i (a new path /churn-i); nil for a peer
	// that cannot change routes while serving.
	change func(r *peerRun, i int) error
}

// peerRun is one started instance of a peer.
type peerRun struct {
	env  *runEnv
	p    *peer
	name string
	bin  string
	dir  string
	port ports
	cmd  *exec.Cmd
	log  *os.File
}

// view is what every configuration template is rendered with.
type view struct {
	ports
	Dir, Mat     string
	Pin, PinSHA1 string
	Decoys       []string
	Churn        int
	OpenHost     string
	MTLSHost     string
	BackendHost  string
	// B64 holds the material's PEM files base64-encoded, by file name.
	B64 map[string]string
	// CAQuoted is the CA's PEM as a double-quoted YAML string.
	CAQuoted string
}

func (r *peerRun) view(churn int) view {
	m := r.env.mat
	return view{
		ports: r.port, Dir: r.dir, Mat: m.dir, Pin: m.pin, PinSHA1: m.pinSHA1,
		Decoys: m.decoys, Churn: churn, OpenHost: openHost, MTLSHost: mtlsHost,
		BackendHost: backendHost, B64: m.b64, CAQuoted: m.caQuoted,
	}
}

// render writes the template text, rendered for churn state i, to name in
// the run's folder, atomically (a watcher never reads half a file).
func (r *peerRun) render(name, text string, churn int) error {
	t, err := template.New(name).Parse(text)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, r.view(churn)); err != nil {
		return err
	}
	tmp := filepath.Join(r.dir, filepath.Dir(name), "."+filepath.Base(name)+".tmp")
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(r.dir, name))
}

// launch starts the peer's command on the proxy CPU, its output to a log
// file in the run's folder.
func (r *peerRun) launch(env []string, name string, args ...string) (*exec.Cmd, error) {
	log, err := os.Create(filepath.Join(r.dir, "peer.log"))
	if err != nil {
		return nil, err
	}
	r.log = log
	cmd := pinned(proxyCPU, name, args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	return cmd, cmd.Start()
}

// freePorts returns n distinct loopback ports free at the time of asking.
func freePorts(n int) ([]int, error) {
	var out []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// waitReady polls until every listener answers 200 on its scenario path
// (the peer has loaded its configuration), or fails after 30 s.
func (r *peerRun) waitReady() error {
	checks := []target{r.env.httpTarget(r.port.HTTP, "/"), r.env.openTarget(r.port.HTTPS), r.env.mtlsTarget(r.port.MTLS, "/pinned")}
	deadline := time.Now().Add(30 * time.Second)
	for _, t := range checks {
		for {
			err := probe(r.env.mat, t)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not ready on port %d%s: %v (log: %s)", r.p.name, t.port, t.path, err, filepath.Join(r.dir, "peer.log"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return r.checkPins()
}

// checkPins makes sure a peer that claims to pin does: a certificate of the
// same CA that is pinned nowhere gets 403 on both pinned routes.
func (r *peerRun) checkPins() error {
	if !r.p.canPin {
		return nil
	}
	for _, path := range []string{"/pinned", "/pinned10k"} {
		t := r.env.mtlsTarget(r.port.MTLS, path)
		t.certName = "stranger"
		if err := probe(r.env.mat, t); err == nil || !strings.Contains(err.Error(), "status 403") {
			return fmt.Errorf("%s: an unpinned certificate on %s: want status 403, got %v", r.p.name, path, err)
		}
	}
	return nil
}

// probe sends one request to t on a new connection.
func probe(m *material, t target) error {
	conf, err := clientTLSIf(m, t)
	if err != nil {
		return err
	}
	c := newConn(t, conf, false)
	_, err = c.do()
	c.close()
	return err
}
