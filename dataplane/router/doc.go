// Package router decides which HTTPRoute rule serves a request.
//
// It holds three pieces, used in this order on every request:
//
//   - NormalizePath turns the request's escaped path into the one path that
//     is both matched and sent upstream.
//   - HostIndex picks a value by host name (exact, wildcard or catch-all);
//     the data plane uses it to choose a listener, and a Table uses it to
//     choose route hostnames.
//   - Table, compiled from the routes of one listener, matches a Request to
//     a route, rule and match, without allocating.
//   - Guard, compiled from the same routes, finds the rule with a client
//     certificate requirement that a backend may read the request's path
//     as (FoldPath); the data plane judges that rule's requirement too.
//
// # Path normalisation
//
// A gateway that matches one path and forwards another lets a client reach
// a route it was not allowed to reach ("/public/../admin" matched as
// /public, served as /admin). So the path is normalised once, the result is
// matched, and the same result is forwarded. The rules, in order:
//
//  1. The path must start with "/".
//  2. Percent-encodings of RFC 3986 unreserved characters (ALPHA DIGIT
//     "-" "." "_" "~") are decoded; every other percent-encoding is kept,
//     with uppercase hex. A malformed escape ("%G1", a trailing "%4") is an
//     error. Bytes that may not appear raw in a path (space, controls,
//     non-ASCII, '"', "<", ">", "?", "#", ...) are percent-encoded.
//  3. An encoded slash or backslash ("%2F", "%5C", either case) and a raw
//     backslash are errors: a backend that decodes them would see path
//     separators the gateway did not match on.
//  4. Dot segments are removed as RFC 3986 section 5.2.4 says, after step 2,
//     so "%2e%2e" is "..". Going above the root stays at the root
//     ("/../a" is "/a"); a trailing dot segment leaves a trailing slash
//     ("/a/b/.." is "/a/").
//  5. ";" is an ordinary character, kept verbatim, except that a segment
//     whose part before the first ";" is "." or ".." is an error: servlet
//     containers strip path parameters and would resolve "/public/..;/admin"
//     to "/admin".
//  6. Consecutive slashes are kept as they are, not merged: "//a" and "/a"
//     are different paths to the matcher and to the backend alike, so
//     keeping them cannot create a mismatch, and merging would change what
//     the backend receives.
//
// Every error wraps ErrBadPath; the caller answers 400 Bad Request.
//
// # Route precedence
//
// A Table follows the Gateway API HTTPRoute rules. Host name first: the
// rules of routes whose matching host name is most specific are tried
// first (an exact name, then longer wildcards, then shorter ones, then
// routes without host names). Rules of less specific host names stay
// candidates after them, so a request reaches any attached route that
// matches it rather than a 404.
//
// Within one host name, across all routes and rules, a match wins by, in
// order:
//
//  1. an Exact path match;
//  2. a RegularExpression path match, longer pattern first (the spec
//     leaves regex precedence to the implementation: a regex is more
//     specific than a prefix but less than an exact path);
//  3. a PathPrefix match with the most characters;
//  4. a method match;
//  5. the most header matches;
//  6. the most query parameter matches;
//  7. the oldest route by creation timestamp;
//  8. the route first in "namespace/name" order;
//  9. the first rule in the route, then the first match in the rule.
//
// # Conditions
//
//   - Exact and PathPrefix values are normalised like request paths, so
//     "/%7euser" in a route and "/~user" in a request are the same. A
//     PathPrefix matches whole segments ("/foo" matches "/foo", "/foo/"
//     and "/foo/bar", not "/foobar") and its trailing slash is ignored.
//   - Regular expressions are RE2 (Go's regexp) and must match the whole
//     value: the normalised, still escaped path; a header value; a decoded
//     query parameter value.
//   - Header names are case-insensitive, values case-sensitive. A repeated
//     header is compared as its values joined with "," (RFC 9110 section
//     5.3), Cookie with "; " (RFC 9113 section 8.2.3); a Set-Cookie match
//     holds when any one value matches.
//   - Query parameter names are case-sensitive and, like values, decoded
//     ("%XX", "+") before comparing; a repeated parameter is judged by its
//     first value, as the spec recommends.
//   - When one match lists the same header (or query parameter) name
//     twice, only the first counts, for matching and for precedence.
//
// # Path confusion guard
//
// Normalisation makes the matched and the forwarded path one string. A
// backend may still read that string more loosely: IIS and ASP.NET match
// case-insensitively and Windows drops trailing dots and spaces, nginx
// (and Envoy as Envoy Gateway configures it) merge slashes, Tomcat and
// Jetty drop ";" parameters, C code stops at a NUL. "/ADMIN" matches an
// open "/" rule here and is served as "/admin" there. FoldPath is that
// loose reading of a normalised path:
//
//  1. cut at the first "%00";
//  2. in each segment, drop everything from the first ";";
//  3. drop trailing dots and "%20" from each segment; a segment that is
//     ".." or "." once its trailing "%20" are dropped walks up or stays,
//     as on Windows;
//  4. drop empty segments, merging "//" (a trailing slash is kept);
//  5. lower ASCII letters; percent-encodings are kept as they are.
//
// A Guard holds only the rules the data plane marks as guarded (a
// requirement with the guard on). Their Exact and PathPrefix values are
// folded the same way; a RegularExpression is compiled with "(?i)" and
// matched against the folded path, so an expression written for "/Admin"
// still matches a path folded to "/admin". The folded path is matched with
// the request's host, method, headers and query, by the precedence above.
//
// Only guarded rules are in a Guard, so the rule it finds is the guarded
// rule a backend may serve, not necessarily the rule certgate would pick
// for the folded path among all rules: an open "/admin/help" beside a
// guarded "/admin" does not shield "/ADMIN/help". That errs towards
// refusing, and only for paths not spelt as the routes spell them.
//
// Most paths are left unchanged by folding. needsFold tells so in one
// pass without allocating, and Guard.Match then returns at once; only when
// a guarded value itself changes under folding ("/Admin") must every path
// be matched.
//
// A host name with a few exact paths and prefixes compares them one by
// one; with more, exact paths are found in a map and prefixes in a trie of
// path segments, so matching looks only at candidates whose path could
// match, however many routes share a host. Regular expressions cannot be
// indexed that way and are tried one by one; keep them few.
//
// # Compiling again
//
// CompileFrom builds a table from a previous one, sharing what a change
// left alone: a route whose namespace, name, creation time, host names and
// matches are unchanged is not compiled again, and a host name whose routes
// are all unchanged keeps its index. An edit to one route of thousands
// rebuilds that route and its host names' indexes, not the table.
package router
