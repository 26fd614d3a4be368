package router

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"root", "/", "/"},
		{"already normal", "/api/v1/users", "/api/v1/users"},
		{"dot dot climbs", "/public/../admin", "/admin"},
		{"encoded dot dot lowercase", "/public/%2e%2e/admin", "/admin"},
		{"encoded dot dot uppercase", "/public/%2E%2E/admin", "/admin"},
		{"mixed encoded dot dot", "/public/.%2E/admin", "/admin"},
		{"single dot", "/a/./b", "/a/b"},
		{"encoded single dot", "/a/%2e/b", "/a/b"},
		{"above root stays at root", "/../a", "/a"},
		{"far above root", "/a/../../../b", "/b"},
		{"trailing dot dot", "/a/b/..", "/a/"},
		{"trailing dot", "/a/b/.", "/a/b/"},
		{"only dot dot", "/..", "/"},
		{"only dot", "/.", "/"},
		{"three dots are a name", "/a/.../b", "/a/.../b"},
		{"dot in a name", "/a/.b/c..", "/a/.b/c.."},
		{"unreserved tilde decoded", "/%7Euser", "/~user"},
		{"unreserved lowercase hex decoded", "/%7euser", "/~user"},
		{"unreserved letters decoded", "/%41%62%2D%5F", "/Ab-_"},
		{"space kept encoded", "/a%20b", "/a%20b"},
		{"lowercase hex uppercased", "/a%3fb", "/a%3Fb"},
		{"encoded percent kept", "/100%25", "/100%25"},
		{"semicolon kept", "/a;b/c;d=1", "/a;b/c;d=1"},
		{"semicolon after a name", "/public/x;/admin", "/public/x;/admin"},
		{"encoded semicolon after dot dot is a name", "/a/..%3B/b", "/a/..%3B/b"},
		{"consecutive slashes kept", "/a//b///c", "/a//b///c"},
		{"dot dot pops an empty segment", "/a//../b", "/a/b"},
		{"trailing slash kept", "/a/", "/a/"},
		{"raw space encoded", "/a b", "/a%20b"},
		{"raw non-ASCII encoded", "/caf\xc3\xa9", "/caf%C3%A9"},
		{"raw question mark encoded", "/a?b", "/a%3Fb"},
		{"sub-delims and colon kept", "/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePath(tt.in)
			if err != nil {
				t.Fatalf("NormalizePath(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("NormalizePath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizePathRejects(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"empty", "", "start"},
		{"relative", "a/b", "start"},
		{"encoded slash lowercase", "/public/..%2fadmin", "slash"},
		{"encoded slash uppercase", "/public/..%2Fadmin", "slash"},
		{"encoded slash alone", "/a%2Fb", "slash"},
		{"encoded backslash", "/a%5cb", "slash or backslash"},
		{"encoded backslash uppercase", "/a%5Cb", "slash or backslash"},
		{"raw backslash", "/a\\b", "backslash"},
		{"raw backslash alone", "\\", "start"},
		{"backslash in path", "/\\", "backslash"},
		{"dot dot with parameters", "/public/..;/admin", "parameters"},
		{"encoded dot dot with parameters", "/public/%2e%2e;/admin", "parameters"},
		{"dot with parameters", "/a/.;x/b", "parameters"},
		{"trailing dot dot with parameters", "/a/..;", "parameters"},
		{"malformed hex", "/%G1", "malformed"},
		{"truncated escape", "/%4", "malformed"},
		{"bare percent", "/a%", "malformed"},
		{"escape cut by slash", "/%4/1", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePath(tt.in)
			if err == nil {
				t.Fatalf("NormalizePath(%q) = %q, want an error", tt.in, got)
			}
			if !errors.Is(err, ErrBadPath) {
				t.Fatalf("NormalizePath(%q) error %v does not wrap ErrBadPath", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("NormalizePath(%q) error %q does not say %q", tt.in, err, tt.reason)
			}
		})
	}
}

func TestNormalizePathDoesNotAllocateForNormalPaths(t *testing.T) {
	for _, p := range []string{"/", "/api/v1/users", "/a%20b/c;d", "/a//b/", "/~user/x.y"} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := NormalizePath(p); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("NormalizePath(%q) allocates %v times, want 0", p, allocs)
		}
	}
}

// FuzzNormalizePath checks the properties the data plane relies on: the
// normal form is stable, absolute, free of dot segments and of encoded
// separators, and the fast path agrees with the slow one.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e%2E/x", "/a;b/..;/c", "/%7e%41", "/a b/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizePath(in)
		if err != nil {
			if !errors.Is(err, ErrBadPath) {
				t.Fatalf("error %v does not wrap ErrBadPath", err)
			}
			return
		}
		checkNormal(t, in, out)
		if strings.HasPrefix(in, "/") {
			if slow, _ := normalizeSlow(in); slow != out {
				t.Fatalf("fast path gave %q, slow path %q for %q", out, slow, in)
			}
		}
	})
}

func checkNormal(t *testing.T, in, out string) {
	t.Helper()
	again, err := NormalizePath(out)
	if err != nil || again != out {
		t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
	}
	if !strings.HasPrefix(out, "/") {
		t.Fatalf("%q -> %q does not start with /", in, out)
	}
	upper := strings.ToUpper(out)
	if strings.Contains(upper, "%2F") || strings.Contains(upper, "%5C") || strings.Contains(out, "\\") {
		t.Fatalf("%q -> %q keeps an encoded separator", in, out)
	}
	for _, seg := range strings.Split(out[1:], "/") {
		if name, _, _ := strings.Cut(seg, ";"); name == "." || name == ".." {
			t.Fatalf("%q -> %q keeps a dot segment", in, out)
		}
	}
}
