package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

// slogLine is the line log/slog's JSON handler writes for e at now: the
// reference appendLine must match byte for byte.
func slogLine(e *Entry, now time.Time) []byte {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.Time(slog.TimeKey, now)
		}
		return a
	}})
	attrs := []slog.Attr{
		slog.String("request_id", e.RequestID), slog.String("client", e.Client), slog.String("protocol", e.Protocol),
		slog.String("gateway", e.Gateway), slog.String("route", e.Route), slog.String("rule", e.Rule),
		slog.String("method", e.Method), slog.String("host", e.Host), slog.String("path", e.Path),
		slog.Int("status", e.Status), slog.Float64("duration_seconds", e.Duration.Seconds()), slog.Int64("bytes", e.Bytes),
	}
	for _, f := range []struct{ key, value string }{
		{"tls_version", e.TLSVersion}, {"upstream", e.Upstream},
		{"client_cert_sha256", e.ClientCertSHA256}, {"clientcert_rejection", e.Rejection},
	} {
		if f.value != "" {
			attrs = append(attrs, slog.String(f.key, f.value))
		}
	}
	slog.New(h).LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
	return buf.Bytes()
}

// FuzzLineIsSlogsLine proves the hand-built line is exactly slog's JSON
// line, for any client-controlled path and host (quotes, control
// characters, invalid UTF-8, line separators) and any duration, and that
// it is one valid JSON object on one line.
func FuzzLineIsSlogsLine(f *testing.F) {
	f.Add("/a\"b\\c\n\r\t\x00\x1f\x7f<>&", "héllo\u2028\u2029\xff\xfe", int64(1500000), int64(21), "TLS 1.3")
	f.Add("/", "example.com", int64(0), int64(0), "")
	f.Add("/%2e%2e/", "[::1]:8443", int64(3), int64(-1), "")
	f.Add("/x", "h", int64(1e18), int64(1<<40), "")
	f.Add("/\u00e9\U0001F600", "\xed\xa0\x80", int64(999), int64(7), "TLS 1.2")
	f.Fuzz(func(t *testing.T, path, host string, nanos, size int64, tlsVersion string) {
		e := &Entry{
			RequestID: "p-1", Client: "127.0.0.1:1", Protocol: "HTTP/1.1", TLSVersion: tlsVersion, Gateway: "ns/gw",
			Method: "GET", Host: host, Path: path, Status: 200, Duration: time.Duration(nanos), Bytes: size, Upstream: "10.0.0.1:80",
		}
		now := time.Date(2026, 12, 2, 5, 0, 0, 123456789, time.UTC)
		got, want := appendLine(nil, e, now), slogLine(e, now)
		if !bytes.Equal(got, want) {
			t.Fatalf("line differs from slog's:\n got %s\nwant %s", got, want)
		}
		if bytes.Count(got, []byte("\n")) != 1 || !json.Valid(got) {
			t.Fatalf("not one JSON line: %q", got)
		}
	})
}

func BenchmarkLog(b *testing.B) {
	var buf bytes.Buffer
	l := New(&buf)
	e := &Entry{
		RequestID: NewRequestID(), Client: "127.0.0.1:50000", Protocol: "HTTP/1.1", Gateway: "default/gw",
		Route: "default/api", Rule: "rule-0", Method: "GET", Host: "api.example.com", Path: "/v1/items",
		Status: 200, Duration: 1234567, Bytes: 512, Upstream: "10.0.0.7:8080",
	}
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		l.Log(e)
	}
}
