package accesslog

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendLine appends e as the JSON line slog's JSON handler writes for it
// at level INFO with message "request", fields in the same order, the
// optional ones only when set.
func appendLine(b []byte, e *Entry, now time.Time) []byte {
	b = append(b, `{"time":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request"`...)
	b = appendString(b, "request_id", e.RequestID)
	b = appendString(b, "client", e.Client)
	b = appendString(b, "protocol", e.Protocol)
	b = appendString(b, "gateway", e.Gateway)
	b = appendString(b, "route", e.Route)
	b = appendString(b, "rule", e.Rule)
	b = appendString(b, "method", e.Method)
	b = appendString(b, "host", e.Host)
	b = appendString(b, "path", e.Path)
	b = strconv.AppendInt(append(b, `,"status":`...), int64(e.Status), 10)
	b = appendFloat(append(b, `,"duration_seconds":`...), e.Duration.Seconds())
	b = strconv.AppendInt(append(b, `,"bytes":`...), e.Bytes, 10)
	for _, f := range [...]struct{ key, value string }{
		{"tls_version", e.TLSVersion}, {"upstream", e.Upstream},
		{"client_cert_sha256", e.ClientCertSHA256}, {"clientcert_rejection", e.Rejection},
	} {
		if f.value != "" {
			b = appendString(b, f.key, f.value)
		}
	}
	return append(b, "}\n"...)
}

// appendString appends ,"key":"value"; keys are plain ASCII.
func appendString(b []byte, key, value string) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":"`...)
	b = appendEscaped(b, value)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends s as the inside of a JSON string, escaped as slog
// escapes it: quote, backslash and control characters; \n, \r and \t by
// name, the other controls as \u00XX; each byte of invalid UTF-8 as
// \ufffd; U+2028 and U+2029, which end lines in JavaScript, as \u2028 and
// \u2029. Paths and hosts come from clients: nothing a client sends can
// end the string or the line early.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				b = append(b, `\ufffd`...)
			case r == '\u2028' || r == '\u2029':
				b = append(b, `\u202`...)
				b = append(b, hexDigits[r&0xf])
			default:
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c < ' ':
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return b
}

// appendFloat appends f as encoding/json writes a float64, which is what
// slog uses: plain decimals, exponent form below 1e-6 and from 1e21 with
// a two-digit negative exponent shortened (e-07 becomes e-7).
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b
}
