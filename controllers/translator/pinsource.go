package translator

import (
	"errors"
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/pin"
)

// readPinSource reads and parses spec.pinsFrom[i] of a ClientCertPolicy
// in namespace ns: a pin list, or PEM certificates (see pemPins), which
// pem reports. An empty list is not a problem here: whether the policy as
// a whole has pins is decided by its caller.
func (t *translator) readPinSource(ns string, i int, src v1alpha1.PinSource) (pins []pin.Pin, pem bool, _ *ccpRefProblem) {
	field := fmt.Sprintf("spec.pinsFrom[%d]", i)
	if src.Kind != v1alpha1.KindConfigMap && src.Kind != v1alpha1.KindSecret {
		return nil, false, &ccpRefProblem{gatewayv1.BackendTLSPolicyReasonInvalidKind, fmt.Sprintf("%s: kind %q is not ConfigMap or Secret", field, src.Kind)}
	}
	obj := fmt.Sprintf("%s %s/%s", src.Kind, ns, src.Name)
	value, objFound, keyFound := t.idx.keyOf(string(src.Kind), nameOf(ns, src.Name), src.Key)
	switch {
	case !objFound:
		return nil, false, &ccpRefProblem{v1alpha1.ReasonInvalidPinsRef, fmt.Sprintf("%s: %s not found", field, obj)}
	case !keyFound:
		return nil, false, &ccpRefProblem{v1alpha1.ReasonInvalidPinsRef, fmt.Sprintf("%s: %s has no key %q", field, obj, src.Key)}
	}
	if isPEM(value) {
		pins, problem := pemPins(value, src.PinType)
		if problem != "" {
			return nil, true, &ccpRefProblem{v1alpha1.ReasonInvalidPinsRef, fmt.Sprintf("%s: %s key %q: %s", field, obj, src.Key, problem)}
		}
		return pins, true, nil
	}
	pins, err := pin.ParseList(string(value))
	if err != nil {
		return nil, false, &ccpRefProblem{v1alpha1.ReasonInvalidPinsRef, fmt.Sprintf("%s: %s key %q: %s", field, obj, src.Key, redactedListError(err))}
	}
	return pins, false, nil
}

// redactedListError describes a pin list error by line number and fault,
// never by content. A Secret's value must not reach status, logs or
// events: anyone who may write a policy could otherwise read the first
// line of any Secret in the namespace by naming it in pinsFrom. ConfigMaps
// get the same treatment, so one rule covers every source and a
// ConfigMap's content cannot leak through a report either.
func redactedListError(err error) string {
	var le *pin.LineError
	if errors.As(err, &le) {
		return le.Redacted() + " (the content is not shown)"
	}
	return "is not a pin list (the content is not shown)"
}

// parseInlinePin parses spec.pins[i]. The CRD schema already checks the
// text, but the file provider has none, so a bad pin is an error naming
// the field rather than a pin silently dropped.
func parseInlinePin(i int, p v1alpha1.Pin) (pin.Pin, error) {
	type entry struct {
		field string
		alg   pin.Algorithm
		text  string
	}
	var set []entry
	for _, e := range []entry{{"sha256", pin.SHA256, p.SHA256}, {"sha1", pin.SHA1, p.SHA1}, {"spkiSHA256", pin.SPKISHA256, p.SPKISHA256}} {
		if e.text != "" {
			set = append(set, e)
		}
	}
	if len(set) != 1 {
		return pin.Pin{}, fmt.Errorf("spec.pins[%d]: exactly one of sha256, sha1 or spkiSHA256 is required, found %d", i, len(set))
	}
	parsed, err := pin.Parse(set[0].alg, set[0].text)
	if err != nil {
		return pin.Pin{}, fmt.Errorf("spec.pins[%d].%s: %w", i, set[0].field, err)
	}
	return parsed, nil
}

// pinSet collects pins without duplicates, in the order first seen, so the
// requirement and status.pinCount count each fingerprint once however many
// sources name it.
type pinSet struct {
	seen map[string]bool
	pins []pin.Pin
}

func (s *pinSet) add(pins ...pin.Pin) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	for _, p := range pins {
		if key := p.String(); !s.seen[key] {
			s.seen[key] = true
			s.pins = append(s.pins, p)
		}
	}
}
