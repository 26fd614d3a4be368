package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KubeletPort is where the agent serves the part of the kubelet API the API
// server proxies to: container logs (kubectl logs, pods/log).
const KubeletPort = 10250

// logWriter copies a container's stdout and stderr into its log file in
// the CRI format kubelet reads ("<RFC3339Nano> <stream> F <line>"), so
// that logs can be filtered by time.
type logWriter struct {
	mu sync.Mutex
	f  *os.File
}

// pipe returns the write end for one stream; the copy ends when the
// process closes it.
func (l *logWriter) pipe(stream string, wg *sync.WaitGroup) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	wg.Go(func() {
		defer func() { _ = r.Close() }()
		br := bufio.NewReaderSize(r, 64*1024)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				tag := "F"
				if line[len(line)-1] != '\n' {
					tag = "P"
					line = append(line, '\n')
				}
				l.mu.Lock()
				_, _ = fmt.Fprintf(l.f, "%s %s %s %s", time.Now().UTC().Format(time.RFC3339Nano), stream, tag, line)
				l.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	})
	return w, nil
}

// ServeKubelet serves GET /containerLogs/{namespace}/{pod}/{container}
// (options sinceTime, sinceSeconds, tailLines, limitBytes, timestamps,
// follow) over TLS on addr until ctx ends. tlsCfg should require client
// certificates from the cluster CA: only the API server calls it.
func (a *Agent) ServeKubelet(ctx context.Context, addr string, tlsCfg *tls.Config) error {
	ln, err := tls.Listen("tcp", addr, tlsCfg)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", a.containerLogs)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("kubelet API", "err", err)
		}
	}()
	return nil
}

func (a *Agent) containerLogs(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("namespace") + "/" + r.PathValue("pod")
	a.mu.Lock()
	st := a.pods[key]
	a.mu.Unlock()
	if st == nil {
		http.Error(w, fmt.Sprintf("pod %s is not running on node %s", key, a.NodeName), http.StatusNotFound)
		return
	}
	path := filepath.Join(st.dir, r.PathValue("container")+".log")
	q := r.URL.Query()
	var since time.Time
	if s := q.Get("sinceTime"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			http.Error(w, "sinceTime: "+err.Error(), http.StatusBadRequest)
			return
		}
		since = t
	}
	if s := q.Get("sinceSeconds"); s != "" {
		n, _ := strconv.Atoi(s)
		since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	tail := -1
	if s := q.Get("tailLines"); s != "" {
		tail, _ = strconv.Atoi(s)
	}
	limit := -1
	if s := q.Get("limitBytes"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	stamps := q.Get("timestamps") == "true"
	follow := q.Get("follow") == "true"

	b, err := os.ReadFile(path)
	if err != nil {
		http.Error(w, fmt.Sprintf("container %q of pod %s has no log", r.PathValue("container"), key), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	lines := bytes.SplitAfter(b, []byte("\n"))
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	}
	var out [][]byte
	for _, l := range lines {
		if o, ok := logLine(l, since, stamps); ok {
			out = append(out, o)
		}
	}
	if tail >= 0 && len(out) > tail {
		out = out[len(out)-tail:]
	}
	written := 0
	emit := func(o []byte) bool {
		if limit >= 0 && written+len(o) > limit {
			_, _ = w.Write(o[:limit-written])
			return false
		}
		written += len(o)
		_, err := w.Write(o)
		return err == nil
	}
	for _, o := range out {
		if !emit(o) {
			return
		}
	}
	if !follow {
		return
	}
	offset := int64(len(b))
	for {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
		f, err := os.Open(path)
		if err != nil {
			return
		}
		_, _ = f.Seek(offset, io.SeekStart)
		more, _ := io.ReadAll(f)
		_ = f.Close()
		i := bytes.LastIndexByte(more, '\n')
		if i < 0 {
			continue
		}
		offset += int64(i + 1)
		for _, l := range bytes.SplitAfter(more[:i+1], []byte("\n")) {
			if o, ok := logLine(l, since, stamps); ok && !emit(o) {
				return
			}
		}
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
}

// logLine turns a CRI log line into what kubectl shows, if it is not
// before since.
func logLine(l []byte, since time.Time, stamps bool) ([]byte, bool) {
	f := strings.SplitN(string(l), " ", 4)
	if len(f) < 4 {
		return nil, false
	}
	t, err := time.Parse(time.RFC3339Nano, f[0])
	if err != nil || (!since.IsZero() && t.Before(since)) {
		return nil, false
	}
	if stamps {
		return []byte(f[0] + " " + f[3]), true
	}
	return []byte(f[3]), true
}
