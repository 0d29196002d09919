package extract

import (
	"fmt"
	"strings"
)

// Attachment is a file or media item a request carries or references. DLP scans Data (or
// Text); Ref names content the request only points at (an uploaded file's id, a URL).
type Attachment struct {
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"` // media type when known
	Size int64  `json:"size,omitempty"` // the size the client declared, or len(Data)
	// Data holds the decoded bytes (base64 or data: URL in the body, or the upload itself).
	Data []byte `json:"-"`
	// Text is inline document text (Claude's extracted_content, Anthropic text documents).
	Text string `json:"text,omitempty"`
	Ref  string `json:"ref,omitempty"`
	// Truncated: the bytes were larger than Limits.MaxAttachment and are not kept.
	Truncated bool `json:"truncated,omitempty"`
}

// Request is what an adapter extracted from a request.
type Request struct {
	Adapter string  `json:"adapter"`
	Version int     `json:"version"`
	App     int     `json:"app,omitempty"`
	Control Control `json:"control"`
	// Prompt is the latest user turn.
	Prompt string `json:"prompt,omitempty"`
	// UserText is every user turn of the body, history included, for scanning.
	UserText string `json:"user_text,omitempty"`
	// Context is tool output and inline document text the turn came with: user-controlled data
	// to scan for injections, never the prompt itself.
	Context        string       `json:"context,omitempty"`
	System         string       `json:"system,omitempty"`
	Model          string       `json:"model,omitempty"`
	ConversationID string       `json:"conversation_id,omitempty"`
	Attachments    []Attachment `json:"attachments,omitempty"`
	// Truncated: a text field reached Limits.MaxText and was cut.
	Truncated bool `json:"truncated,omitempty"`
	// Unparsed is set when the request matched the adapter but its body did not have the
	// adapter's shape; the other fields are then empty except the identification.
	Unparsed *Unparsed `json:"unparsed,omitempty"`
}

// Response is what an adapter reassembled from a response.
type Response struct {
	Adapter        string `json:"adapter"`
	Version        int    `json:"version"`
	App            int    `json:"app,omitempty"`
	Text           string `json:"text,omitempty"`
	Model          string `json:"model,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	ResponseID     string `json:"response_id,omitempty"`
	// Complete: the stream's end marker was seen (a cut stream is logged as partial).
	Complete  bool      `json:"complete"`
	Events    int       `json:"events"`
	Truncated bool      `json:"truncated,omitempty"`
	Unparsed  *Unparsed `json:"unparsed,omitempty"`
}

// Unparsed says why a body of a known application could not be read. Callers apply the
// application's FailMode to it.
type Unparsed struct {
	Reason string `json:"reason"`
	Err    error  `json:"-"`
}

func (u *Unparsed) Error() string { return "unparsed: " + u.Reason }

// Unwrap returns the decoding error, if any.
func (u *Unparsed) Unwrap() error { return u.Err }

func unparsed(err error, format string, args ...any) *Unparsed {
	return &Unparsed{Reason: fmt.Sprintf(format, args...), Err: err}
}

// FailMode is the per-application setting that decides what happens to a request whose body
// could not be parsed (Unparsed): FailClosed treats it like a request that matched the rules
// needing its content (a block rule blocks it), FailOpen lets it through un-inspected and logs
// it. The zero value means FailClosed, the project's rule for content it cannot inspect.
type FailMode string

// Fail modes.
const (
	FailClosed FailMode = "closed"
	FailOpen   FailMode = "open"
)

// DefaultFailMode applies when an application has no setting.
const DefaultFailMode = FailClosed

// ParseFailMode parses "open" or "closed" ("" gives the default).
func ParseFailMode(s string) (FailMode, error) {
	switch FailMode(strings.ToLower(strings.TrimSpace(s))) {
	case "":
		return DefaultFailMode, nil
	case FailOpen:
		return FailOpen, nil
	case FailClosed:
		return FailClosed, nil
	}
	return "", fmt.Errorf("fail mode %q: want open or closed", s)
}

// Closed reports whether the mode fails closed (the zero value does).
func (m FailMode) Closed() bool { return m != FailOpen }

// textBuf accumulates text up to a cap.
type textBuf struct {
	b         strings.Builder
	max       int
	truncated bool
}

func (t *textBuf) add(sep, s string) {
	if s == "" {
		return
	}
	if t.b.Len() > 0 {
		s = sep + s
	}
	if room := t.max - t.b.Len(); len(s) > room {
		s = cutUTF8(s, room)
		t.truncated = true
	}
	t.b.WriteString(s)
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// FailModes holds the per-application setting, keyed by application-library id; an
// application without an entry gets DefaultFailMode.
type FailModes map[int]FailMode

// For returns the fail mode of an application.
func (m FailModes) For(app int) FailMode {
	if f, ok := m[app]; ok && f != "" {
		return f
	}
	return DefaultFailMode
}
