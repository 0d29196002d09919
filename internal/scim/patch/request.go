// Package patch implements SCIM 2.0 PATCH (RFC 7644 §3.5.2) over resources decoded from JSON:
// ParseRequest validates a PatchOp message and Apply runs its add, replace and remove
// operations against a resource under a Schema, atomically (the input is never modified).
//
// It accepts what Okta and Microsoft Entra ID actually send: mixed-case op names, operations
// without a path, boolean values as the strings "True"/"False", member removal by value list,
// an enterprise manager given as a bare id, and value-path filters such as
// emails[type eq "work"].value (parsed by package filter). It never creates keys that the
// Schema does not define. Errors are *Error values carrying the HTTP status and SCIM scimType.
package patch

import (
	"encoding/json"
	"fmt"
	"strings"
)

// PatchOpURN is the schema of a PATCH request message.
const PatchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// MaxOperations bounds the operations of one request; the caller bounds the body size.
const MaxOperations = 1000

// SCIM error types (RFC 7644 §3.12) used by this package.
const (
	ScimTypeInvalidSyntax = "invalidSyntax"
	ScimTypeInvalidPath   = "invalidPath"
	ScimTypeInvalidValue  = "invalidValue"
	ScimTypeNoTarget      = "noTarget"
	ScimTypeMutability    = "mutability"
)

// Error is a PATCH failure to render as a SCIM error response: Status and ScimType go to the
// client as they are, Detail is safe to show (it names attributes, never echoes long input),
// Err is the underlying cause for logs.
type Error struct {
	Status   int
	ScimType string
	Detail   string
	Err      error
}

func (e *Error) Error() string {
	s := "scim patch: " + e.Detail
	if e.ScimType != "" {
		s = "scim patch: " + e.ScimType + ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func newError(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// Operation is one PATCH operation.
type Operation struct {
	// Op is "add", "replace" or "remove" (ParseRequest lower-cases it).
	Op string
	// Path is the target path, "" when absent.
	Path string
	// Value is the decoded JSON value (numbers as float64), nil when absent or null.
	Value any
}

// ParseRequest decodes and validates a PatchOp message: the schemas list must contain
// PatchOpURN, there must be 1 to MaxOperations operations, op names are case-insensitive, paths
// must parse, add needs a value and remove needs a path. Errors are *Error.
func ParseRequest(body []byte) ([]Operation, error) {
	var msg struct {
		Schemas    []string          `json:"schemas"`
		Operations []json.RawMessage `json:"Operations"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, &Error{Status: 400, ScimType: ScimTypeInvalidSyntax, Detail: "request body is not a PatchOp JSON object", Err: err}
	}
	found := false
	for _, s := range msg.Schemas {
		found = found || strings.EqualFold(s, PatchOpURN)
	}
	if !found {
		return nil, newError(400, ScimTypeInvalidSyntax, "schemas must contain %s", PatchOpURN)
	}
	if len(msg.Operations) == 0 {
		return nil, newError(400, ScimTypeInvalidSyntax, "Operations is empty")
	}
	if len(msg.Operations) > MaxOperations {
		return nil, newError(413, "", "more than %d operations", MaxOperations)
	}
	ops := make([]Operation, 0, len(msg.Operations))
	for i, raw := range msg.Operations {
		var o struct {
			Op    string          `json:"op"`
			Path  *string         `json:"path"`
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, &Error{Status: 400, ScimType: ScimTypeInvalidSyntax, Detail: fmt.Sprintf("operation %d is not a JSON object with op, path and value", i), Err: err}
		}
		op := Operation{Op: strings.ToLower(o.Op)}
		if o.Path != nil {
			op.Path = strings.TrimSpace(*o.Path)
		}
		if len(o.Value) > 0 {
			if err := json.Unmarshal(o.Value, &op.Value); err != nil {
				return nil, &Error{Status: 400, ScimType: ScimTypeInvalidSyntax, Detail: fmt.Sprintf("operation %d: value is not JSON", i), Err: err}
			}
		}
		if err := op.validate(); err != nil {
			err.Detail = fmt.Sprintf("operation %d: %s", i, err.Detail)
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func (op *Operation) validate() *Error {
	switch op.Op {
	case "add", "replace":
		if op.Value == nil && (op.Op == "add" || op.Path == "") {
			return newError(400, ScimTypeInvalidValue, "%s needs a value", op.Op)
		}
		if op.Path == "" {
			if _, ok := op.Value.(map[string]any); !ok {
				return newError(400, ScimTypeInvalidValue, "%s without a path needs an object value", op.Op)
			}
		}
	case "remove":
		if op.Path == "" {
			return newError(400, ScimTypeNoTarget, "remove needs a path")
		}
	default:
		return newError(400, ScimTypeInvalidSyntax, "op must be add, replace or remove")
	}
	if op.Path != "" {
		if _, err := parsePath(op.Path); err != nil {
			return err
		}
	}
	return nil
}
