package router

import (
	"net/http"
	"strings"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// Builders that keep the route tables in the tests readable.

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// rt is a route created age minutes after epoch; name is "namespace/name".
func rt(name string, age int, hosts []string, rules ...snapshot.Rule) snapshot.Route {
	ns, n, _ := strings.Cut(name, "/")
	return snapshot.Route{
		Namespace:         ns,
		Name:              n,
		CreationTimestamp: epoch.Add(time.Duration(age) * time.Minute),
		Hostnames:         hosts,
		Rules:             rules,
	}
}

func rule(matches ...snapshot.Match) snapshot.Rule { return snapshot.Rule{Matches: matches} }

func hosts(h ...string) []string { return h }

func prefix(v string) snapshot.Match { return pathMatch(snapshot.PathPrefix, v) }

func exact(v string) snapshot.Match { return pathMatch(snapshot.PathExact, v) }

func regex(v string) snapshot.Match { return pathMatch(snapshot.PathRegularExpression, v) }

func pathMatch(typ snapshot.PathMatchType, v string) snapshot.Match {
	return snapshot.Match{Path: &snapshot.PathMatch{Type: typ, Value: v}}
}

type matchOpt func(snapshot.Match) snapshot.Match

// with adds conditions to a match.
func with(m snapshot.Match, opts ...matchOpt) snapshot.Match {
	for _, o := range opts {
		m = o(m)
	}
	return m
}

func method(v string) matchOpt {
	return func(m snapshot.Match) snapshot.Match { m.Method = v; return m }
}

func header(name, value string) matchOpt {
	return valueOpt(false, snapshot.MatchExact, name, value)
}

func headerRE(name, value string) matchOpt {
	return valueOpt(false, snapshot.MatchRegularExpression, name, value)
}

func query(name, value string) matchOpt {
	return valueOpt(true, snapshot.MatchExact, name, value)
}

func queryRE(name, value string) matchOpt {
	return valueOpt(true, snapshot.MatchRegularExpression, name, value)
}

func valueOpt(isQuery bool, typ snapshot.MatchType, name, value string) matchOpt {
	return func(m snapshot.Match) snapshot.Match {
		v := snapshot.ValueMatch{Type: typ, Name: name, Value: value}
		if isQuery {
			m.QueryParams = append(m.QueryParams, v)
		} else {
			m.Headers = append(m.Headers, v)
		}
		return m
	}
}

// req builds a request; hdrs alternate name, value.
func req(host, path string, hdrs ...string) *Request {
	h := http.Header{}
	for i := 0; i+1 < len(hdrs); i += 2 {
		h.Add(hdrs[i], hdrs[i+1])
	}
	return &Request{Host: host, Path: path, Method: http.MethodGet, Header: h}
}

func withMethod(r *Request, m string) *Request { r.Method = m; return r }

func withQuery(r *Request, q string) *Request { r.RawQuery = q; return r }

// res is the expected Result of a PathPrefix match ("" prefix otherwise).
func res(route, rule, match int, prefix string) Result {
	return Result{RouteIndex: route, RuleIndex: rule, MatchIndex: match, Prefix: prefix}
}
