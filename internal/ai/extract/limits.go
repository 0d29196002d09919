package extract

import (
	"errors"
	"fmt"
)

// Limits bound every decoder of the package. A zero field takes its default.
type Limits struct {
	// MaxBody caps a request body, or a response body that must be read whole (plain JSON):
	// default 16 MiB.
	MaxBody int64
	// MaxEvent caps one framed unit: an SSE event, an NDJSON line, one element of a streamed
	// JSON array, one Google frame, one event-stream message. Default 4 MiB.
	MaxEvent int
	// MaxText caps the reassembled response text and the extracted user text; past it the text
	// is cut and Truncated is set. Default 1 MiB.
	MaxText int
	// MaxAttachment caps the decoded bytes kept for one attachment (base64 or data: URL); past
	// it the attachment keeps no bytes and is marked Truncated. Default 16 MiB.
	MaxAttachment int
}

// Default limits.
const (
	DefaultMaxBody       = 16 << 20
	DefaultMaxEvent      = 4 << 20
	DefaultMaxText       = 1 << 20
	DefaultMaxAttachment = 16 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	if l.MaxEvent <= 0 {
		l.MaxEvent = DefaultMaxEvent
	}
	if l.MaxText <= 0 {
		l.MaxText = DefaultMaxText
	}
	if l.MaxAttachment <= 0 {
		l.MaxAttachment = DefaultMaxAttachment
	}
	return l
}

// ErrTooLarge is wrapped by every error about input past a cap.
var ErrTooLarge = errors.New("input exceeds the size cap")

// tooLarge names what exceeded which cap.
func tooLarge(what string, limit int64) error {
	return fmt.Errorf("%s larger than %d bytes: %w", what, limit, ErrTooLarge)
}
