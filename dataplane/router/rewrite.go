package router

import (
	"net/url"
	"strings"
)

// ReplacePrefix implements the Gateway API ReplacePrefixMatch path
// modifier: it replaces prefix, the Result.Prefix of a PathPrefix match,
// at the start of path with replacement, element by element. Trailing
// slashes on prefix and replacement are ignored, and an empty result is
// "/":
//
//	path      prefix  replacement  result
//	/foo/bar  /foo    /xyz         /xyz/bar
//	/foo/bar  /foo/   /xyz/        /xyz/bar
//	/foo      /foo    /xyz         /xyz
//	/foo/     /foo    /xyz         /xyz/
//	/foo/bar  /foo    "" or /      /bar
//	/foo      /foo    "" or /      /
//	/foo/     /foo    "" or /      /
//
// A path that prefix does not match element-wise is returned unchanged.
// The root prefix "/" matches the path "/" whole, so "/" becomes the
// replacement itself, like "/foo" under prefix "/foo".
func ReplacePrefix(path, prefix, replacement string) string {
	p := strings.TrimRight(prefix, "/")
	rest, ok := strings.CutPrefix(path, p)
	if !ok || (rest != "" && rest[0] != '/') {
		return path
	}
	if p == "" && rest == "/" {
		rest = ""
	}
	if out := strings.TrimRight(replacement, "/") + rest; out != "" {
		return out
	}
	return "/"
}

// SetEscapedPath sets u's path from its escaped form, as NormalizePath and
// ReplacePrefix produce it. Setting RawPath as well sends the escapes
// exactly as written; url.URL.EscapedPath uses RawPath while it is a valid
// encoding of Path.
func SetEscapedPath(u *url.URL, escaped string) {
	path, err := url.PathUnescape(escaped)
	if err != nil {
		// Not reachable with a normalised path and a checked replacement;
		// keep the bytes rather than fail the request.
		path = escaped
	}
	u.Path, u.RawPath = path, escaped
}
