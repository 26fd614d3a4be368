package router

import "testing"

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
	}
	for _, tt := range tests {
		got := ReplacePrefix(tt.path, tt.prefix, tt.replacement)
		if got != tt.want {
			t.Errorf("ReplacePrefix(%q, %q, %q) = %q, want %q", tt.path, tt.prefix, tt.replacement, got, tt.want)
		}
	}
}
