package httpx

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
)

// Error is an error with a public message safe to show a user and a private cause that only goes
// to the log. Handlers return it; one adapter renders it (see package web).
type Error struct {
	Status int    // HTTP status
	Public string // message shown to the user
	Reason string // machine-readable reason, also logged
	Cause  error  // private cause; never rendered
	// Title is the page title; "" uses the status text.
	Title string
	// Ref is the reference ID shown to the user and logged with the cause; "" gets a new one
	// when the error is rendered. Set it when the same reference must also go elsewhere (an
	// auth event).
	Ref string
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s (%s): %v", e.Public, e.Reason, e.Cause)
	}
	return fmt.Sprintf("%s (%s)", e.Public, e.Reason)
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an Error.
func Errorf(status int, reason, public string, cause error) *Error {
	return &Error{Status: status, Public: public, Reason: reason, Cause: cause}
}

// AsError returns err as *Error, or a generic 500 wrapping it.
func AsError(err error) *Error {
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	return &Error{Status: 500, Public: "Something went wrong on our side.", Reason: "internal-error", Cause: err}
}

// NewRequestID returns a random 16-hex-character reference ID for pages and logs.
func NewRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
