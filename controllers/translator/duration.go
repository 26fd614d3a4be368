package translator

import (
	"fmt"
	"regexp"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// durationPattern is the GEP-2257 Duration syntax: one to four
// number-and-unit pairs, units h, m, s and ms, numbers of up to five
// digits. It is a strict subset of what time.ParseDuration accepts, so a
// value that passes is then parsed by it.
var durationPattern = regexp.MustCompile(`^([0-9]{1,5}(h|m|s|ms)){1,4}$`)

// parseDuration parses a Gateway API Duration such as "1h2m3s500ms".
// "0s" is zero, which the snapshot reads as "no timeout", as the spec asks
// of a zero duration.
func parseDuration(d gatewayv1.Duration) (time.Duration, error) {
	if !durationPattern.MatchString(string(d)) {
		return 0, fmt.Errorf("%q is not a Gateway API duration (like 1h2m3s500ms)", d)
	}
	return time.ParseDuration(string(d))
}
