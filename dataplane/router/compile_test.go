package router

import (
	"strings"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

func TestCompileErrorsNameTheField(t *testing.T) {
	good := rt("ns/good", 0, nil, rule(prefix("/")))
	tests := []struct {
		name  string
		route snapshot.Route
		want  string
	}{{
		name:  "path regex",
		route: rt("ns/name", 0, nil, rule(prefix("/"), regex("/a(")), rule()),
		want:  "routes[2] (ns/name) rules[0].matches[1].path.value: invalid regular expression: ",
	}, {
		name:  "unbalanced regex that the anchors would balance",
		route: rt("ns/name", 0, nil, rule(regex("a)|(b"))),
		want:  "routes[2] (ns/name) rules[0].matches[0].path.value: invalid regular expression: ",
	}, {
		name:  "header regex",
		route: rt("ns/name", 0, nil, rule(), rule(with(prefix("/"), header("a", "1"), headerRE("b", "[")))),
		want:  "routes[2] (ns/name) rules[1].matches[0].headers[1].value: invalid regular expression: ",
	}, {
		name:  "query regex",
		route: rt("ns/name", 0, nil, rule(with(prefix("/"), queryRE("q", "*")))),
		want:  "routes[2] (ns/name) rules[0].matches[0].queryParams[0].value: invalid regular expression: ",
	}, {
		name:  "path type",
		route: rt("ns/name", 0, nil, rule(pathMatch("Glob", "/*"))),
		want:  "routes[2] (ns/name) rules[0].matches[0].path.type: unsupported path match type \"Glob\"",
	}, {
		name:  "unnormalisable path",
		route: rt("ns/name", 0, nil, rule(exact("/a%2Fb"))),
		want:  "routes[2] (ns/name) rules[0].matches[0].path.value \"/a%2Fb\": bad request path",
	}, {
		name:  "hostname",
		route: rt("ns/name", 0, hosts("ok.com", "a.*.com"), rule()),
		want:  "routes[2] (ns/name) hostnames[1] \"a.*.com\": ",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile([]snapshot.Route{good, good, tt.route})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Compile error = %v, want it to start with %q", err, tt.want)
			}
		})
	}
}
