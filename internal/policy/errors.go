package policy

import (
	"fmt"
	"strings"
)

// Objects named by Error.Object.
const (
	ObjectPolicy      = "policy"
	ObjectGroup       = "group"
	ObjectApplication = "application"
	ObjectList        = "list"
)

// Error is one problem Compile found in a configuration object.
type Error struct {
	// Object is the kind of object: "policy", "group", "application" or "list".
	Object string
	// ID is the object's id as configured (possibly "" when the id itself is missing).
	ID string
	// Field is the path inside the object, with YAML/JSON field names and zero-based indexes,
	// e.g. "include[2].ip.ip" or "policies[1].ref"; "" for the object as a whole.
	Field string
	// Msg says what is wrong, for people.
	Msg string
}

// Error formats e as `policy "p": include[2].ip.ip: invalid CIDR ...`.
func (e Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s %q: %s", e.Object, e.ID, e.Msg)
	}
	return fmt.Sprintf("%s %q: %s: %s", e.Object, e.ID, e.Field, e.Msg)
}

// Errors is every problem Compile found, in configuration order: lists, groups, policies,
// applications.
type Errors []Error

// Error joins the problems with "; ".
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the individual problems, so that errors.As finds an Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
