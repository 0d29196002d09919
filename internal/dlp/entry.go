package dlp

import (
	"fmt"
	"strings"
)

// Confidence is the likelihood that a match is real, from proximity
// keywords and validator strength (gateway-ai-spec §3.3).
type Confidence int

// Confidence levels; a threshold of Low accepts every level.
const (
	Low Confidence = 1 + iota
	Medium
	High
)

func (c Confidence) String() string {
	switch c {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return fmt.Sprintf("confidence(%d)", int(c))
}

// MarshalText implements encoding.TextMarshaler.
func (c Confidence) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Confidence) UnmarshalText(b []byte) error {
	v, err := ParseConfidence(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseConfidence parses "low", "medium" or "high".
func ParseConfidence(s string) (Confidence, error) {
	switch strings.ToLower(s) {
	case "low", "":
		return Low, nil
	case "medium":
		return Medium, nil
	case "high":
		return High, nil
	}
	return 0, fmt.Errorf("dlp: unknown confidence %q", s)
}

// Entry is one detection entry: a predefined detector, or a custom regular
// expression, word list or exact data match dataset. Entries are immutable
// and may be shared by any number of profiles.
type Entry struct {
	// ID is the stable identifier used in profiles and findings.
	ID string
	// Name is a human-readable label.
	Name string
	// Kind is "predefined", "regex", "wordlist" or "edm".
	Kind string
	// Keywords raise a match to High confidence when one occurs within the
	// engine's KeywordWindow of it (case-insensitive).
	Keywords []string

	det detector
	// keepPrefix is how many leading bytes of a match stay readable in the
	// redacted sample (a token's public prefix such as "ghp_").
	keepPrefix int
	// redactAll also hides the public prefix (EDM values).
	redactAll bool
}

// candidate is one raw detector hit within a view.
type candidate struct {
	start, end int
	conf       Confidence
	detail     string
	example    bool
	noBoost    bool // keywords do not raise confidence (examples)
}

type detector interface{ isDetector() }

// triggerDetector runs where one of its literal triggers occurs.
type triggerDetector interface {
	detector
	triggers() []string
	at(text []byte, pos int, trig string) (candidate, bool)
}

// numberDetector runs on every maximal run of digits and separators.
type numberDetector interface {
	detector
	number(text []byte, lo, hi int, emit func(candidate))
}

// fullDetector scans a whole view itself.
type fullDetector interface {
	detector
	find(text []byte, emit func(candidate))
}

// streamDetector decides once per decoded stream (source code).
type streamDetector interface {
	detector
	isStream()
}
