package pin

import (
	"errors"
	"fmt"
)

// SyntaxError is pin text that does not parse. It says what is wrong twice:
// Error quotes the text, for the person who typed it (a policy's own pins,
// the `certgate pin` command); Reason does not, for reports read by people
// who may not see where the text came from. A pin list can live in a
// Secret, and anyone allowed to point a policy at that Secret would
// otherwise read it through the policy's status.
type SyntaxError struct {
	// Reason says what is wrong without quoting, measuring or otherwise
	// revealing the text: only the algorithm, when it is a known one, and
	// what a valid pin looks like.
	Reason string
	detail string
}

func (e *SyntaxError) Error() string { return e.detail }

func syntaxError(reason, format string, args ...any) *SyntaxError {
	return &SyntaxError{Reason: reason, detail: fmt.Sprintf(format, args...)}
}

// LineError is a line of a pin list that is not a pin line. Error quotes
// the line; Redacted names only the line number and what is wrong.
type LineError struct {
	// Line is the 1-based line number.
	Line int
	Err  *SyntaxError
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the SyntaxError of the line.
func (e *LineError) Unwrap() error { return e.Err }

// Redacted describes the error without any of the list's text.
func (e *LineError) Redacted() string {
	return fmt.Sprintf("line %d %s", e.Line, e.Err.Reason)
}

// lineError wraps the error of line n. Every parse error is a SyntaxError;
// should one not be, its reason is still one that quotes nothing.
func lineError(n int, err error) *LineError {
	var se *SyntaxError
	if !errors.As(err, &se) {
		se = &SyntaxError{Reason: "is not a pin line", detail: err.Error()}
	}
	return &LineError{Line: n, Err: se}
}
