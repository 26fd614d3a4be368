package router

import (
	"strings"
	"testing"
)

// The first eleven cases are the table in the Gateway API
// HTTPPathModifier.ReplacePrefixMatch documentation.
func TestReplacePrefix(t *testing.T) {
	tests := []struct {
		path, prefix, replacement, want string
	}{
		{"/foo/bar", "/foo", "/xyz", "/xyz/bar"},
		{"/foo/bar", "/foo", "/xyz/", "/xyz/bar"},
		{"/foo/bar", "/foo/", "/xyz", "/xyz/bar"},
		{"/foo/bar", "/foo/", "/xyz/", "/xyz/bar"},
		{"/foo", "/foo", "/xyz", "/xyz"},
		{"/foo/", "/foo", "/xyz", "/xyz/"},
		{"/foo/bar", "/foo", "", "/bar"},
		{"/foo/", "/foo", "", "/"},
		{"/foo", "/foo", "", "/"},
		{"/foo/", "/foo", "/", "/"},
		{"/foo", "/foo", "/", "/"},
		{"/foo/x", "/foo", "/bar", "/bar/x"},
		{"/foo/x", "/foo", "/", "/x"},
		{"/foo/bar/baz", "/foo/bar", "/q", "/q/baz"},
		{"/x/y", "/", "/pre", "/pre/x/y"},
		{"/", "/", "/pre", "/pre"},
		{"/", "/", "/", "/"},
		{"/foobar", "/foo", "/xyz", "/foobar"},
		{"/other", "/foo", "/xyz", "/other"},
		// The conformance tests httproute-rewrite-path and -redirect-path, and more.
		{"/prefix/one/two", "/prefix/one", "/one", "/one/two"},
		{"/strip-prefix/three", "/strip-prefix", "/", "/three"},
		{"/strip-prefix", "/strip-prefix", "/", "/"},
		{"/prefix/rewrite-path-and-modify-headers/one", "/prefix/rewrite-path-and-modify-headers", "/prefix", "/prefix/one"},
		{"/original-prefix/lemon", "/original-prefix", "/replacement-prefix", "/replacement-prefix/lemon"},
		{"/path-and-host", "/path-and-host", "/replacement-prefix", "/replacement-prefix"},
		{"/foo/x/", "/foo", "/bar", "/bar/x/"},
		{"/foo//x", "/foo", "/bar", "/bar//x"},
		{"/x/y", "/", "/bar", "/bar/x/y"},
		{"/x", "/", "", "/x"},
		{"/foo/a%2Fb", "/foo", "/bar", "/bar/a%2Fb"},
		{"/foobar", "/foo", "/bar", "/foobar"},
		{"/other", "/foo", "/bar", "/other"},
	}
	for _, tt := range tests {
		got := ReplacePrefix(tt.path, tt.prefix, tt.replacement)
		if got != tt.want {
			t.Errorf("ReplacePrefix(%q, %q, %q) = %q, want %q", tt.path, tt.prefix, tt.replacement, got, tt.want)
		}
	}
}

// FuzzReplacePrefix checks the invariants of an element-wise replacement:
// the result is an absolute path, and what followed the prefix survives.
func FuzzReplacePrefix(f *testing.F) {
	f.Add("/foo/bar", "/foo", "/xyz")
	f.Add("/foo/", "/foo/", "")
	f.Add("/", "/", "/")
	f.Fuzz(func(t *testing.T, path, prefix, replacement string) {
		if !strings.HasPrefix(path, "/") || !strings.HasPrefix(prefix, "/") {
			t.Skip()
		}
		if replacement != "" && !strings.HasPrefix(replacement, "/") {
			t.Skip()
		}
		got := ReplacePrefix(path, prefix, replacement)
		if !strings.HasPrefix(got, "/") {
			t.Fatalf("ReplacePrefix(%q, %q, %q) = %q, not absolute", path, prefix, replacement, got)
		}
		rest, ok := strings.CutPrefix(path, strings.TrimRight(prefix, "/"))
		if ok && strings.HasPrefix(rest, "/") && !strings.HasSuffix(got, rest) {
			t.Fatalf("ReplacePrefix(%q, %q, %q) = %q lost %q", path, prefix, replacement, got, rest)
		}
	})
}
