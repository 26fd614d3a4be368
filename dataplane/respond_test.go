package dataplane

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestEveryAnswerIsAProblemDocument holds every entry of answers, present
// and future, to RFC 9457 with only its standard members: a body that
// carried an extension member (a reason, a pin) would fail here.
func TestEveryAnswerIsAProblemDocument(t *testing.T) {
	for code, body := range answers {
		var p problemDetails
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Errorf("%d: body %q: %v", code, body, err)
			continue
		}
		if p.Type != "about:blank" || p.Title != http.StatusText(code) || p.Status != code || p.Detail == "" {
			t.Errorf("%d: %+v, want type about:blank, title %q and a detail", code, p, http.StatusText(code))
		}
		for _, word := range []string{"pin", "reason", "expired", "untrusted", "sha"} {
			if strings.Contains(strings.ToLower(p.Detail), word) {
				t.Errorf("%d: detail %q names %q", code, p.Detail, word)
			}
		}
	}
}
