package router

import (
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

func TestMatchConditions(t *testing.T) {
	one := func(opts ...matchOpt) []snapshot.Route {
		return []snapshot.Route{rt("a/r", 0, nil, rule(with(prefix("/"), opts...)))}
	}
	ok := res(0, 0, 0, "/")
	runMatchCases(t, []matchCase{
		{name: "method matches", routes: one(method("POST")), req: withMethod(req("h", "/"), "POST"), want: ok},
		{name: "method differs", routes: one(method("POST")), req: req("h", "/"), none: true},
		{name: "header name is case-insensitive", routes: one(header("x-VERSION", "v1")), req: req("h", "/", "X-Version", "v1"), want: ok},
		{name: "header value is case-sensitive", routes: one(header("x-version", "v1")), req: req("h", "/", "X-Version", "V1"), none: true},
		{name: "header missing", routes: one(header("x-version", "v1")), req: req("h", "/"), none: true},
		{name: "repeated header compared joined", routes: one(header("x-a", "1,2")), req: req("h", "/", "X-A", "1", "X-A", "2"), want: ok},
		{name: "repeated header not a single value", routes: one(header("x-a", "1")), req: req("h", "/", "X-A", "1", "X-A", "2"), none: true},
		{name: "repeated cookie joined with semicolon", routes: one(header("cookie", "a=1; b=2")), req: req("h", "/", "Cookie", "a=1", "Cookie", "b=2"), want: ok},
		{name: "header regex matches", routes: one(headerRE("x-version", "v[0-9]+")), req: req("h", "/", "X-Version", "v12"), want: ok},
		{name: "header regex is anchored", routes: one(headerRE("x-version", "v[0-9]+")), req: req("h", "/", "X-Version", "xv12"), none: true},
		{name: "repeated header regex", routes: one(headerRE("x-a", "1,[0-9]")), req: req("h", "/", "X-A", "1", "X-A", "2"), want: ok},
		{name: "only the first of duplicate header names counts", routes: one(header("x-a", "1"), header("X-A", "2")), req: req("h", "/", "X-A", "1"), want: ok},
		{name: "all headers must match", routes: one(header("x-a", "1"), header("x-b", "2")), req: req("h", "/", "X-A", "1"), none: true},
		{name: "query matches", routes: one(query("v", "1")), req: withQuery(req("h", "/"), "a=b&v=1"), want: ok},
		{name: "query name is case-sensitive", routes: one(query("v", "1")), req: withQuery(req("h", "/"), "V=1"), none: true},
		{name: "query value is decoded", routes: one(query("n", "a b/c")), req: withQuery(req("h", "/"), "n=a+b%2Fc"), want: ok},
		{name: "query name is decoded", routes: one(query("a b", "1")), req: withQuery(req("h", "/"), "a%20b=1"), want: ok},
		{name: "first of a repeated query parameter counts", routes: one(query("v", "2")), req: withQuery(req("h", "/"), "v=1&v=2"), none: true},
		{name: "query parameter without value", routes: one(queryRE("flag", ".*")), req: withQuery(req("h", "/"), "flag"), want: ok},
		{name: "query regex matches decoded value", routes: one(queryRE("n", "a b[0-9]")), req: withQuery(req("h", "/"), "n=a%20b7"), want: ok},
		{name: "query regex is anchored", routes: one(queryRE("n", "[0-9]+")), req: withQuery(req("h", "/"), "n=x1"), none: true},
		{name: "query malformed escape never matches", routes: one(query("n", "%zz")), req: withQuery(req("h", "/"), "n=%zz"), none: true},
		{name: "query missing", routes: one(query("v", "1")), req: req("h", "/"), none: true},
	})
}
