package promptlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/dlp"
)

// Payload is what a prompt log entry keeps sealed: the prompt, the system prompt, the model's
// response and the attachments' metadata (their content is not kept).
type Payload struct {
	Prompt       string `json:"prompt"`
	SystemPrompt string `json:"system_prompt,omitempty"`
	Response     string `json:"response,omitempty"`
	// ResponsePartial says that the response ended before the stream's end marker (the
	// upstream or the client cut it): Response is what arrived.
	ResponsePartial bool         `json:"response_partial,omitempty"`
	Attachments     []Attachment `json:"attachments,omitempty"`
	// Truncated says that a text was cut to MaxTextBytes, or attachments to MaxAttachments.
	Truncated bool `json:"truncated,omitempty"`
}

// Attachment describes a file sent with a prompt.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size"`
	// SHA256 is the lower-case hex digest of the content, when known.
	SHA256 string `json:"sha256,omitempty"`
}

// Bounds of a sealed payload: each text is cut to MaxTextBytes (on a UTF-8 boundary) and the
// attachments to MaxAttachments, and Truncated is set.
const (
	MaxTextBytes   = 256 << 10
	MaxAttachments = 100
)

// payloadVersion is the version of the sealed JSON document; envelopeVersion the first byte of
// the DLP payload encryption's envelope.
const (
	payloadVersion  = 1
	envelopeVersion = 2
)

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// sealed is the JSON document inside the HPKE envelope.
type sealed struct {
	V int `json:"v"`
	Payload
}

// Errors of Open. Their text is safe to show.
var (
	// ErrDecrypt: the envelope does not open with the key: the wrong private key, or a damaged
	// payload (HPKE cannot tell which).
	ErrDecrypt = errors.New("promptlog: the payload does not decrypt with this private key (wrong key or damaged payload)")
	// ErrMalformed: not an HPKE envelope of the DLP payload encryption, or it opened but does
	// not hold a prompt log payload of a version this build reads.
	ErrMalformed = errors.New("promptlog: not a prompt log payload")
)

// Seal bounds p (see MaxTextBytes) and encrypts it to the X25519 public key pub with the DLP
// payload encryption (HPKE base mode, X25519, HKDF-SHA256, ChaCha20-Poly1305).
func Seal(pub []byte, p *Payload) ([]byte, error) {
	doc := sealed{V: payloadVersion, Payload: bounded(p)}
	pt, err := json.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("promptlog: encode payload: %w", err)
	}
	ct, err := dlp.EncryptPayload(pub, pt)
	clear(pt)
	if err != nil {
		return nil, fmt.Errorf("promptlog: seal payload: %w", err)
	}
	return ct, nil
}

// bounded returns p with its texts and attachments within the bounds.
func bounded(p *Payload) Payload {
	out := *p
	for _, s := range []*string{&out.Prompt, &out.SystemPrompt, &out.Response} {
		if len(*s) > MaxTextBytes {
			*s = cutUTF8(*s, MaxTextBytes)
			out.Truncated = true
		}
	}
	if len(out.Attachments) > MaxAttachments {
		out.Attachments = out.Attachments[:MaxAttachments]
		out.Truncated = true
	}
	return out
}

// cutUTF8 returns at most n bytes of s, not splitting a character.
func cutUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Open decrypts a sealed payload with the X25519 private key priv. A key of the wrong size is
// an error saying so; ErrDecrypt when the payload does not open with the key; ErrMalformed when
// what it holds is not a payload of a version this build reads.
func Open(priv, payloadEnc []byte) (*Payload, error) {
	if len(priv) != 32 {
		return nil, fmt.Errorf("promptlog: the private key must be 32 bytes (X25519), not %d", len(priv))
	}
	// Version byte 2, the 32-byte encapsulated key, then at least the AEAD tag.
	if len(payloadEnc) < 1+32+16 || payloadEnc[0] != envelopeVersion {
		return nil, fmt.Errorf("%w: not an HPKE envelope (version %d, %d bytes)", ErrMalformed, firstByte(payloadEnc), len(payloadEnc))
	}
	pt, err := dlp.DecryptPayload(priv, payloadEnc)
	if err != nil {
		return nil, ErrDecrypt // HPKE says only that authentication failed
	}
	defer clear(pt)
	return decodePayload(pt)
}

// decodePayload parses the JSON document inside an envelope.
func decodePayload(pt []byte) (*Payload, error) {
	dec := json.NewDecoder(bytes.NewReader(pt))
	var doc sealed
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, fmt.Errorf("%w: the decrypted text is not one JSON document", ErrMalformed)
	}
	if doc.V != payloadVersion {
		return nil, fmt.Errorf("%w: version %d (this build reads %d)", ErrMalformed, doc.V, payloadVersion)
	}
	return &doc.Payload, nil
}
