package scim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// userFields are the indexed columns of a SCIM user, taken from its resource.
type userFields struct {
	userName, externalID, displayName, email string
	active                                   bool
}

// maxValueLen bounds userName, externalId and displayName.
const maxValueLen = 1024

func stringAttr(res map[string]any, name string, required bool) (string, error) {
	v, ok := lookup(res, name)
	if !ok || v == nil {
		if required {
			return "", errorf(http.StatusBadRequest, "invalidValue", "%s is required.", name)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", errorf(http.StatusBadRequest, "invalidValue", "%s must be a string.", name)
	}
	if required && strings.TrimSpace(s) == "" {
		return "", errorf(http.StatusBadRequest, "invalidValue", "%s must not be empty.", name)
	}
	if len(s) > maxValueLen {
		return "", errorf(http.StatusBadRequest, "invalidValue", "%s is too long.", name)
	}
	return s, nil
}

// normalizeUser checks a User resource (as written by the client, readOnly attributes already
// removed), normalizes active to a boolean, and returns its indexed fields.
func normalizeUser(res map[string]any) (userFields, error) {
	var f userFields
	var err error
	if f.userName, err = stringAttr(res, "userName", true); err != nil {
		return f, err
	}
	if f.externalID, err = stringAttr(res, "externalId", false); err != nil {
		return f, err
	}
	if f.displayName, err = stringAttr(res, "displayName", false); err != nil {
		return f, err
	}
	f.active = true
	if v, ok := lookup(res, "active"); ok && v != nil {
		b, ok := asBool(v)
		if !ok {
			return f, errorf(http.StatusBadRequest, "invalidValue", "active must be a boolean.")
		}
		deleteAttr(res, "active")
		res["active"] = b
		f.active = b
	}
	// The address that links the user to the registry is in normal form (package mailaddr): an
	// emails value without one is refused, so that a look-alike never links to another user; a
	// userName that is not an address in normal form is simply not used as one.
	if e := strings.Trim(primaryEmail(res), " \t"); e != "" {
		n, err := mailaddr.Normalize(e)
		if err != nil {
			return f, errorf(http.StatusBadRequest, "invalidValue", "emails: %v.", err)
		}
		f.email = n
	} else if n, err := mailaddr.Normalize(f.userName); err == nil {
		f.email = n
	}
	return f, nil
}

// primaryEmail returns the primary e-mail value, else the first one.
func primaryEmail(res map[string]any) string {
	v, _ := lookup(res, "emails")
	list, _ := v.([]any)
	first := ""
	for _, e := range list {
		m, _ := e.(map[string]any)
		val, _ := lookup(m, "value")
		s, _ := val.(string)
		if s == "" {
			continue
		}
		if p, _ := lookup(m, "primary"); p != nil {
			if b, _ := asBool(p); b {
				return s
			}
		}
		if first == "" {
			first = s
		}
	}
	return first
}

// stripReadOnly removes the attributes a client may not set (id, meta, groups) and the
// write-only password, which Gatehouse never stores.
func stripReadOnly(res map[string]any, extra ...string) {
	for _, k := range append([]string{"id", "meta", "groups", "password"}, extra...) {
		deleteAttr(res, k)
	}
	if _, ok := lookup(res, "schemas"); !ok {
		res["schemas"] = []any{SchemaUser}
	}
}

// userResource renders a stored SCIM user; groups are included when not nil.
func (h *handler) userResource(u *store.SCIMUser, groups []store.SCIMGroup) map[string]any {
	res := map[string]any{}
	if len(u.Attributes) > 0 {
		_ = json.Unmarshal(u.Attributes, &res)
	}
	res["id"] = u.ID
	res["userName"] = u.UserName
	res["active"] = u.Active
	if u.ExternalID != "" {
		res["externalId"] = u.ExternalID
	}
	if _, ok := res["schemas"]; !ok {
		res["schemas"] = []any{SchemaUser}
	}
	res["meta"] = meta("User", h.base+"/Users/"+u.ID, u.CreatedAt, u.UpdatedAt, u.Version)
	if groups != nil {
		gs := make([]any, 0, len(groups))
		for _, g := range groups {
			gs = append(gs, map[string]any{"value": g.ID, "display": g.DisplayName, "$ref": h.base + "/Groups/" + g.ID, "type": "direct"})
		}
		res["groups"] = gs
	}
	return res
}

func (h *handler) serveUsers(w http.ResponseWriter, r *http.Request, id string) {
	var err error
	switch {
	case id == "" && r.Method == http.MethodGet:
		err = h.listUsers(w, r)
	case id == "" && r.Method == http.MethodPost:
		err = h.createUser(w, r)
	case id != "" && r.Method == http.MethodGet:
		err = h.getUser(w, r, id)
	case id != "" && (r.Method == http.MethodPut || r.Method == http.MethodPatch):
		err = h.updateUser(w, r, id)
	case id != "" && r.Method == http.MethodDelete:
		err = h.deleteUser(w, r, id)
	default:
		err = errorf(http.StatusMethodNotAllowed, "", "Method not allowed.")
	}
	if err != nil {
		h.s.writeError(w, r, err)
	}
}

func (h *handler) writeUser(w http.ResponseWriter, r *http.Request, status int, u *store.SCIMUser) error {
	groups, err := h.s.Store.SCIMGroupsOfUser(r.Context(), h.idp.ID, u.ID)
	if err != nil {
		return storeError(err, "")
	}
	if groups == nil {
		groups = []store.SCIMGroup{}
	}
	w.Header().Set("ETag", etag(u.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", h.base+"/Users/"+u.ID)
	}
	writeJSON(w, status, h.userResource(u, groups))
	return nil
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request, id string) error {
	u, err := h.s.Store.GetSCIMUser(r.Context(), h.idp.ID, id)
	if err != nil {
		return storeError(err, "")
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag(u.Version) {
		w.Header().Set("ETag", etag(u.Version))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return h.writeUser(w, r, http.StatusOK, u)
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c := Change{Method: http.MethodPost, ResourceType: "USER"}
	err := func() error {
		body, _, err := readBody(r)
		if err != nil {
			return err
		}
		stripReadOnly(body)
		f, err := normalizeUser(body)
		c.ExternalID, c.UserEmail = f.externalID, f.email
		if err != nil {
			return err
		}
		attrs, err := json.Marshal(body)
		if err != nil {
			return err
		}
		u := &store.SCIMUser{ID: h.s.newID(), IdPID: h.idp.ID, ExternalID: f.externalID, UserName: f.userName,
			DisplayName: f.displayName, Email: f.email, Active: f.active, Attributes: attrs}
		if err := h.s.Store.CreateSCIMUser(ctx, u); err != nil {
			return storeError(err, "userName")
		}
		c.ResourceID = u.ID
		created := func(*store.SCIMRegistryChange) *store.SCIMUser { return nil }
		if u, err = h.link(ctx, &c, u, h.userEffect(created)); err != nil {
			return err
		}
		c.Status = http.StatusCreated
		return h.writeUser(w, r, http.StatusCreated, u)
	}()
	h.finish(ctx, &c, err)
	return err
}

// finish records a write's outcome.
func (h *handler) finish(ctx context.Context, c *Change, err error) {
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			c.Status, c.Error = se.Status, se.Detail
		} else {
			c.Status, c.Error = http.StatusInternalServerError, "internal error"
		}
	}
	h.record(ctx, *c)
}

// updateUser serves PUT (replace) and PATCH.
func (h *handler) updateUser(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	c := Change{Method: r.Method, ResourceType: "USER", ResourceID: id}
	err := func() error {
		body, raw, err := readBody(r)
		if err != nil {
			return err
		}
		var ops patchOps
		if r.Method == http.MethodPatch {
			if ops, err = h.parsePatch(raw); err != nil {
				return err
			}
		} else if v, ok := lookup(body, "id"); ok && v != id {
			return errorf(http.StatusBadRequest, "mutability", "id is readOnly.")
		}
		var old store.SCIMUser
		u, changes, err := h.s.Store.UpdateSCIMUser(ctx, h.idp.ID, id, func(u *store.SCIMUser) error {
			old = *u
			if err := checkIfMatch(r, u.Version); err != nil {
				return err
			}
			var next map[string]any
			if r.Method == http.MethodPatch {
				cur := h.userResource(u, nil)
				if next, err = ops.apply(cur, false); err != nil {
					return err
				}
				if v, _ := lookup(next, "id"); v != u.ID {
					return errorf(http.StatusBadRequest, "mutability", "id is readOnly.")
				}
			} else {
				next = body
			}
			stripReadOnly(next)
			f, err := normalizeUser(next)
			if err != nil {
				return err
			}
			attrs, err := json.Marshal(next)
			if err != nil {
				return err
			}
			u.ExternalID, u.UserName, u.DisplayName, u.Email, u.Active, u.Attributes = f.externalID, f.userName, f.displayName, f.email, f.active, attrs
			return nil
		}, h.userEffect(beforeWrite))
		if err != nil {
			return storeError(err, "userName")
		}
		c.ExternalID, c.UserEmail = u.ExternalID, u.Email
		h.applied(ctx, &c, changes)
		if u, err = h.link(ctx, &c, u, h.userEffect(func(*store.SCIMRegistryChange) *store.SCIMUser { return &old })); err != nil {
			return err
		}
		c.Status = http.StatusOK
		return h.writeUser(w, r, http.StatusOK, u)
	}()
	h.finish(ctx, &c, err)
	return err
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	c := Change{Method: http.MethodDelete, ResourceType: "USER", ResourceID: id}
	err := func() error {
		// One transaction: the deletion, the registry user's deactivation and the revocation of
		// its sessions happen together or not at all, so a retry after a failure finds the user.
		_, changes, err := h.s.Store.DeleteSCIMUser(ctx, h.idp.ID, id, func(u *store.SCIMUser) error {
			c.ExternalID, c.UserEmail = u.ExternalID, u.Email
			return checkIfMatch(r, u.Version)
		}, h.userEffect(beforeWrite))
		if err != nil {
			return storeError(err, "")
		}
		h.applied(ctx, &c, changes)
		c.Status = http.StatusNoContent
		w.WriteHeader(http.StatusNoContent)
		return nil
	}()
	h.finish(ctx, &c, err)
	return err
}
