package router

import (
	"net/url"
	"strings"
)

// The query is scanned in place rather than parsed with url.ParseQuery,
// which would build a map and decode every parameter for every request.
// Names and values are decoded as url.ParseQuery decodes them ("%XX" and
// "+" for space) but only while comparing; a pair with a malformed escape
// in its name is skipped, as url.ParseQuery drops it.

// queryValue returns the still-escaped value of the first parameter called
// name in rawQuery.
func queryValue(rawQuery, name string) (string, bool) {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		key, value, _ := strings.Cut(pair, "=")
		if unescapedEqual(key, name) {
			return value, true
		}
	}
	return "", false
}

// unescapedEqual reports whether the query component escaped decodes to
// plain, without decoding it into a new string. A malformed escape never
// equals anything.
func unescapedEqual(escaped, plain string) bool {
	j := 0
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			if i+2 >= len(escaped) {
				return false
			}
			h, okh := hexValue(escaped[i+1])
			l, okl := hexValue(escaped[i+2])
			if !okh || !okl {
				return false
			}
			c = h<<4 | l
			i += 2
		}
		if j >= len(plain) || plain[j] != c {
			return false
		}
		j++
	}
	return j == len(plain)
}

// queryUnescape decodes a query component for a regular expression; it
// allocates only when there is something to decode.
func queryUnescape(escaped string) (string, bool) {
	if !strings.ContainsAny(escaped, "%+") {
		return escaped, true
	}
	s, err := url.QueryUnescape(escaped)
	return s, err == nil
}
