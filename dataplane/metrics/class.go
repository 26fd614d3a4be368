package metrics

import "net/http"

// methodClasses are the values of the method label: the methods of RFC 9110
// and RFC 5789 that routes commonly tell apart, and "other" for every other
// method, which a client may invent freely.
var methodClasses = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodDelete, http.MethodPatch, http.MethodOptions, "other",
}

// codeClasses are the values of the code label of durations and upstream
// requests: the status class, and "error" for an upstream attempt that got
// no response at all.
var codeClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "error"}

// errorClass is the index of "error" in codeClasses.
const errorClass = len(codeClasses) - 1

// MethodClass is the method label of a request method.
func MethodClass(method string) string { return methodClasses[methodIndex(method)] }

// CodeClass is the code label of a status code: "2xx" for 200 to 299, and so
// on; codes outside 100 to 599 count as "5xx".
func CodeClass(code int) string { return codeClasses[codeIndex(code)] }

func methodIndex(method string) int {
	for i, m := range methodClasses[:len(methodClasses)-1] {
		if m == method {
			return i
		}
	}
	return len(methodClasses) - 1
}

func codeIndex(code int) int {
	if code < 100 || code > 599 {
		return 4
	}
	return code/100 - 1
}
