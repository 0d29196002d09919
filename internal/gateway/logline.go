package gateway

import (
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The "gateway request" line, encoded by the gateway itself when Options.RequestLines is set:
// the bytes slog's JSONHandler (without ReplaceAttr or AddSource) writes for the same record,
// without its generic machinery (attribute values boxed and switched on, a record built and
// copied, the handler's state). TestRequestLineMatchesSlog holds the two to the same output.

// lineBuffers are the request lines' encoding buffers.
var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeRequestLine encodes and writes one request line to w: time, level and message as
// slog's JSONHandler writes them, then prefix (the line's first six attributes, encoded by
// appendLineStart; the tunnel's when it has one), then the rest of the attributes in logEntry's
// order.
func writeRequestLine(w io.Writer, now time.Time, level slog.Level, prefix []byte, e *entry, status int, down int64, device string) {
	bp := lineBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, `{"time":"`...)
	b = now.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":`...)
	b = appendJSONString(b, level.String())
	b = append(b, `,"msg":"gateway request"`...)
	b = append(b, prefix...)
	b = appendStringAttr(b, "method", e.method)
	b = appendStringAttr(b, "host", e.dest.Host)
	b = appendIntAttr(b, "port", int64(e.dest.Port))
	b = appendIntAttr(b, "status", int64(status))
	b = appendStringAttr(b, "outcome", e.outcome)
	b = appendStringAttr(b, "reason", e.reason)
	b = appendIntAttr(b, "bytes_up", e.up)
	b = appendIntAttr(b, "bytes_down", down)
	b = appendIntAttr(b, "duration", int64(now.Sub(e.start)))
	b = appendStringAttr(b, "device", device)
	b = appendIntAttr(b, "app_id", int64(e.appID))
	b = appendStringAttr(b, "app", e.appName)
	b = appendStringAttr(b, "app_status", e.appStatus)
	b = appendStringAttr(b, "rule_id", e.ruleID)
	b = appendStringAttr(b, "rule_name", e.ruleName)
	b = appendStringAttr(b, "action", e.action)
	b = appendStringAttr(b, "category", e.category)
	b = appendStringAttr(b, "request_id", e.requestID)
	b = append(b, "}\n"...)
	_, _ = w.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b
		lineBuffers.Put(bp)
	}
}

// appendLineStart encodes a line's first six attributes: client, user, email, service_token,
// location and kind.
func appendLineStart(b []byte, client, user, email, token, location, kind string) []byte {
	b = appendStringAttr(b, "client", client)
	b = appendStringAttr(b, "user", user)
	b = appendStringAttr(b, "email", email)
	b = appendStringAttr(b, "service_token", token)
	b = appendStringAttr(b, "location", location)
	return appendStringAttr(b, "kind", kind)
}

// appendStringAttr appends ,"key":"value" (key needs no escaping).
func appendStringAttr(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// appendIntAttr appends ,"key":n (key needs no escaping).
func appendIntAttr(b []byte, key string, n int64) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, n, 10)
}

// appendJSONString appends s as a quoted JSON string escaped as slog's JSONHandler escapes it
// (log/slog appendEscapedJSONString): ", \ and control characters escaped, invalid UTF-8
// replaced by \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, '\\')
			switch c {
			case '\\', '"':
				b = append(b, c)
			case '\n':
				b = append(b, 'n')
			case '\r':
				b = append(b, 'r')
			case '\t':
				b = append(b, 't')
			default:
				b = append(b, 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
