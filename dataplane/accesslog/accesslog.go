// Package accesslog writes one structured JSON line per request with
// log/slog, the logging library certgate uses everywhere.
package accesslog

import (
	"context"
	"io"
	"log/slog"
	"time"
)

// Entry is what is known of one request when its response is done.
type Entry struct {
	Gateway string
	// Route is "namespace/name"; empty when no route matched.
	Route    string
	Rule     string
	Method   string
	Host     string
	Path     string
	Status   int
	Duration time.Duration
	// Bytes is the size of the response body sent to the client.
	Bytes int64
	// Upstream is the endpoint address the request was sent to, if any.
	Upstream string
	// ClientCertSHA256 is the hex SHA-256 of the client certificate
	// presented on the connection, if any.
	ClientCertSHA256 string
	// Rejection is why a client certificate requirement rejected (or in
	// audit mode would have rejected) the request.
	Rejection string
}

// Logger writes entries. A nil *Logger discards them.
type Logger struct {
	log *slog.Logger
}

// New writes JSON lines to w.
func New(w io.Writer) *Logger {
	return &Logger{log: slog.New(slog.NewJSONHandler(w, nil))}
}

// Log writes one entry as one line. Empty optional fields are left out.
func (l *Logger) Log(e *Entry) {
	if l == nil {
		return
	}
	attrs := make([]slog.Attr, 0, 14)
	attrs = append(attrs,
		slog.String("gateway", e.Gateway),
		slog.String("route", e.Route),
		slog.String("rule", e.Rule),
		slog.String("method", e.Method),
		slog.String("host", e.Host),
		slog.String("path", e.Path),
		slog.Int("status", e.Status),
		slog.Float64("duration_seconds", e.Duration.Seconds()),
		slog.Int64("bytes", e.Bytes),
	)
	if e.Upstream != "" {
		attrs = append(attrs, slog.String("upstream", e.Upstream))
	}
	if e.ClientCertSHA256 != "" {
		attrs = append(attrs, slog.String("client_cert_sha256", e.ClientCertSHA256))
	}
	if e.Rejection != "" {
		attrs = append(attrs, slog.String("clientcert_rejection", e.Rejection))
	}
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}
