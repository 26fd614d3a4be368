package router

import (
	"slices"
	"testing"
)

func TestHostIndexLookup(t *testing.T) {
	idx, err := NewHostIndex([]HostEntry[string]{
		{Pattern: "foo.example.com", Value: "exact"},
		{Pattern: "*.example.com", Value: "wild"},
		{Pattern: "*.a.example.com", Value: "longer wild"},
		{Pattern: "*.com", Value: "tld wild"},
		{Pattern: "", Value: "any"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, want string
	}{
		{"foo.example.com", "exact"},
		{"FOO.Example.COM", "exact"},
		{"foo.example.com.", "exact"},
		{"bar.example.com", "wild"},
		{"x.y.example.com", "wild"},
		{"b.a.example.com", "longer wild"},
		{"a.example.com", "wild"},
		{"example.com", "tld wild"},
		{"example.org", "any"},
		{"com", "any"},
		{".example.com", "tld wild"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, ok := idx.Lookup(tt.host)
			if !ok || got != tt.want {
				t.Fatalf("Lookup(%q) = %q, %v; want %q", tt.host, got, ok, tt.want)
			}
		})
	}
}

func TestHostIndexWildcardDoesNotMatchBareDomain(t *testing.T) {
	idx, err := NewHostIndex([]HostEntry[int]{{Pattern: "*.example.com", Value: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"example.com", ".example.com", "example.org", ""} {
		if v, ok := idx.Lookup(host); ok {
			t.Errorf("Lookup(%q) = %v, want no match", host, v)
		}
	}
}

func TestNewHostIndexRejects(t *testing.T) {
	for _, pattern := range []string{"*", "*.", "a.*.com", "foo*.com", "*.*.com", "*..com"} {
		if _, err := NewHostIndex([]HostEntry[int]{{Pattern: pattern}}); err == nil {
			t.Errorf("NewHostIndex(%q) succeeded, want an error", pattern)
		}
	}
	dup := []HostEntry[int]{{Pattern: "a.com"}, {Pattern: "A.com."}}
	if _, err := NewHostIndex(dup); err == nil {
		t.Error("NewHostIndex with a duplicate pattern succeeded, want an error")
	}
}

func TestHostIndexLookupDoesNotAllocate(t *testing.T) {
	idx, err := NewHostIndex([]HostEntry[int]{{Pattern: "a.example.com"}, {Pattern: "*.example.com"}, {Pattern: ""}})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"a.example.com", "b.c.example.com", "other.org", "a.example.com."} {
		if n := testing.AllocsPerRun(100, func() { idx.Lookup(host) }); n != 0 {
			t.Errorf("Lookup(%q) allocates %v times, want 0", host, n)
		}
	}
}

func TestWildcardCovers(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string
	}{
		{"a.b.example.com", []string{"b.example.com", "example.com", "com"}},
		{"*.b.example.com", []string{"example.com", "com"}},
		{"*.com", nil},
		{"localhost", nil},
	}
	for _, tt := range tests {
		if got := wildcardCovers(tt.pattern); !slices.Equal(got, tt.want) {
			t.Errorf("wildcardCovers(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

func TestHostOfStripsPortAndCanonicalises(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":       "example.com",
		"Example.COM:8443":  "example.com",
		"api.example.com.":  "api.example.com",
		"[::1]:8080":        "::1",
		"[2001:db8::1]":     "2001:db8::1",
		"127.0.0.1:80":      "127.0.0.1",
		"API.example.com.:": "api.example.com",
	} {
		if got := HostOf(in); got != want {
			t.Errorf("HostOf(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { HostOf("api.example.com:443") }); n != 0 {
		t.Errorf("HostOf of a lowercase host allocates %v times", n)
	}
}
