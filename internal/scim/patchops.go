package scim

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/scim/patch"
)

// patchOps is a parsed PATCH request.
type patchOps []patch.Operation

// parsePatch parses a PatchOp message, bounding its operation count.
func (h *handler) parsePatch(raw []byte) (patchOps, error) {
	ops, err := patch.ParseRequest(raw)
	if err != nil {
		return nil, patchError(err)
	}
	if len(ops) > h.s.maxOps() {
		return nil, errorf(http.StatusRequestEntityTooLarge, "tooMany", "A PATCH request may carry at most %d operations.", h.s.maxOps())
	}
	return ops, nil
}

// patchError maps a *patch.Error to a SCIM error.
func patchError(err error) error {
	var pe *patch.Error
	if errors.As(err, &pe) {
		return &Error{Status: pe.Status, ScimType: pe.ScimType, Detail: pe.Detail, cause: err}
	}
	return errorf(http.StatusBadRequest, "invalidValue", "The PATCH request could not be applied.")
}

// apply runs the operations on a rendered resource and returns the result.
func (ops patchOps) apply(res map[string]any, group bool) (map[string]any, error) {
	schema := &patch.UserSchema
	if group {
		schema = &patch.GroupSchema
	}
	out, err := patch.Apply(res, []patch.Operation(ops), *schema)
	if err != nil {
		return nil, patchError(err)
	}
	return out, nil
}
