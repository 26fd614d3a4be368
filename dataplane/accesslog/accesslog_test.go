package accesslog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestLogWritesOneJSONLinePerRequest(t *testing.T) {
	var buf bytes.Buffer
	New(&buf).Log(&Entry{
		RequestID: "id1", Client: "127.0.0.1:5000", Protocol: "HTTP/1.1", TLSVersion: "TLS 1.3",
		Gateway: "ns/gw", Route: "ns/api", Rule: "admin", Method: "GET", Host: "api.example.com",
		Path: "/admin", Status: 403, Duration: 1500 * time.Microsecond, Bytes: 21,
		ClientCertSHA256: "ab12", Rejection: "pin_mismatch",
	})
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1: %s", len(lines), buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal(lines[0], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"msg": "request", "gateway": "ns/gw", "route": "ns/api", "rule": "admin", "method": "GET",
		"path": "/admin", "status": 403.0, "duration_seconds": 0.0015, "bytes": 21.0,
		"client_cert_sha256": "ab12", "clientcert_rejection": "pin_mismatch",
		"request_id": "id1", "client": "127.0.0.1:5000", "protocol": "HTTP/1.1", "tls_version": "TLS 1.3",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["upstream"]; ok {
		t.Error("empty upstream was written")
	}
	if _, ok := got["time"]; !ok {
		t.Error("no time field")
	}
}

func TestNilLoggerDiscards(t *testing.T) {
	var l *Logger
	l.Log(&Entry{}) // must not panic
}

func TestRequestIDsAreDistinctAndCarryTheProcessPrefix(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewRequestID()
		if seen[id] {
			t.Fatalf("request id %s given twice", id)
		}
		seen[id] = true
		if prefix, _, ok := strings.Cut(id, "-"); !ok || prefix != requestIDPrefix || len(prefix) != 16 {
			t.Fatalf("request id %q lacks the process prefix %q", id, requestIDPrefix)
		}
	}
}

func BenchmarkNewRequestID(b *testing.B) {
	for b.Loop() {
		_ = NewRequestID()
	}
}
