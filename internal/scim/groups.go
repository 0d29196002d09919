package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
)

// maxMembers bounds one group's member list in a single write.
const maxMembers = 10000

func (h *handler) groupResource(g *store.SCIMGroup) map[string]any {
	res := map[string]any{}
	if len(g.Attributes) > 0 {
		_ = json.Unmarshal(g.Attributes, &res)
	}
	res["id"] = g.ID
	res["displayName"] = g.DisplayName
	if g.ExternalID != "" {
		res["externalId"] = g.ExternalID
	}
	if _, ok := res["schemas"]; !ok {
		res["schemas"] = []any{SchemaGroup}
	}
	members := make([]any, 0, len(g.Members))
	for _, m := range g.Members {
		members = append(members, map[string]any{"value": m, "$ref": h.base + "/Users/" + m, "type": "User"})
	}
	res["members"] = members
	res["meta"] = meta("Group", h.base+"/Groups/"+g.ID, g.CreatedAt, g.UpdatedAt, g.Version)
	return res
}

// normalizeGroup checks a Group resource and returns its fields; members are removed from res.
func normalizeGroup(res map[string]any) (displayName, externalID string, members []string, err error) {
	if displayName, err = stringAttr(res, "displayName", true); err != nil {
		return
	}
	if externalID, err = stringAttr(res, "externalId", false); err != nil {
		return
	}
	v, _ := lookup(res, "members")
	deleteAttr(res, "members")
	if v == nil {
		return
	}
	list, ok := v.([]any)
	if !ok {
		err = errorf(http.StatusBadRequest, "invalidValue", "members must be a list.")
		return
	}
	if len(list) > maxMembers {
		err = errorf(http.StatusRequestEntityTooLarge, "tooMany", "A group write may carry at most %d members.", maxMembers)
		return
	}
	for _, m := range list {
		mm, _ := m.(map[string]any)
		val, _ := lookup(mm, "value")
		s, ok := val.(string)
		if !ok || s == "" {
			err = errorf(http.StatusBadRequest, "invalidValue", "Every member needs a value.")
			return
		}
		if t, _ := lookup(mm, "type"); t != nil && t != "User" {
			err = errorf(http.StatusBadRequest, "invalidValue", "Only users can be group members.")
			return
		}
		members = append(members, s)
	}
	slices.Sort(members)
	members = slices.Compact(members)
	return
}

func (h *handler) serveGroups(w http.ResponseWriter, r *http.Request, id string) {
	var err error
	switch {
	case id == "" && r.Method == http.MethodGet:
		err = h.listGroups(w, r)
	case id == "" && r.Method == http.MethodPost:
		err = h.writeGroup(w, r, "")
	case id != "" && r.Method == http.MethodGet:
		var g *store.SCIMGroup
		if g, err = h.s.Store.GetSCIMGroup(r.Context(), h.idp.ID, id); err != nil {
			err = storeError(err, "")
			break
		}
		w.Header().Set("ETag", etag(g.Version))
		writeJSON(w, http.StatusOK, h.groupResource(g))
	case id != "" && (r.Method == http.MethodPut || r.Method == http.MethodPatch):
		err = h.writeGroup(w, r, id)
	case id != "" && r.Method == http.MethodDelete:
		err = h.deleteGroup(w, r, id)
	default:
		err = errorf(http.StatusMethodNotAllowed, "", "Method not allowed.")
	}
	if err != nil {
		h.s.writeError(w, r, err)
	}
}

// memberError turns a store "member not found" into a SCIM invalidValue.
func memberError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusBadRequest, "invalidValue", "A member is not a user of this identity provider.")
	}
	return storeError(err, "")
}

// writeGroup serves POST (id == ""), PUT and PATCH of groups.
func (h *handler) writeGroup(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	c := Change{Method: r.Method, ResourceType: "GROUP", ResourceID: id}
	err := func() error {
		body, raw, err := readBody(r)
		if err != nil {
			return err
		}
		var (
			g       *store.SCIMGroup
			changes []store.SCIMRegistryChange
			ran     bool
		)
		effect := h.membershipEffect()
		switch r.Method {
		case http.MethodPost:
			stripReadOnly(body)
			body["schemas"] = schemasOr(body, SchemaGroup)
			name, ext, members, err := normalizeGroup(body)
			c.GroupName, c.ExternalID = name, ext
			if err != nil {
				return err
			}
			attrs, _ := json.Marshal(body)
			g = &store.SCIMGroup{ID: h.s.newID(), IdPID: h.idp.ID, ExternalID: ext, DisplayName: name, Members: members, Attributes: attrs}
			if changes, err = h.s.Store.CreateSCIMGroup(ctx, g, effect); err != nil {
				if errors.Is(err, store.ErrAlreadyExists) {
					return storeError(err, "id")
				}
				return memberError(err)
			}
		default:
			var ops patchOps
			if r.Method == http.MethodPatch {
				if ops, err = h.parsePatch(raw); err != nil {
					return err
				}
			} else if v, ok := lookup(body, "id"); ok && v != id {
				return errorf(http.StatusBadRequest, "mutability", "id is readOnly.")
			}
			g, changes, err = h.s.Store.UpdateSCIMGroup(ctx, h.idp.ID, id, func(g *store.SCIMGroup) error {
				ran = true
				if err := checkIfMatch(r, g.Version); err != nil {
					return err
				}
				next := body
				if r.Method == http.MethodPatch {
					var err error
					if next, err = ops.apply(h.groupResource(g), true); err != nil {
						return err
					}
					if v, _ := lookup(next, "id"); v != g.ID {
						return errorf(http.StatusBadRequest, "mutability", "id is readOnly.")
					}
				}
				stripReadOnly(next)
				next["schemas"] = schemasOr(next, SchemaGroup)
				name, ext, members, err := normalizeGroup(next)
				if err != nil {
					return err
				}
				attrs, _ := json.Marshal(next)
				g.DisplayName, g.ExternalID, g.Members, g.Attributes = name, ext, members, attrs
				return nil
			}, effect)
			if err != nil {
				var se *Error
				if errors.As(err, &se) {
					return se
				}
				if errors.Is(err, store.ErrNotFound) && ran {
					return memberError(err)
				}
				return storeError(err, "")
			}
		}
		c.ResourceID, c.GroupName, c.ExternalID = g.ID, g.DisplayName, g.ExternalID
		h.applied(ctx, &c, changes)
		status := http.StatusOK
		if r.Method == http.MethodPost {
			status = http.StatusCreated
			w.Header().Set("Location", h.base+"/Groups/"+g.ID)
		}
		c.Status = status
		w.Header().Set("ETag", etag(g.Version))
		writeJSON(w, status, h.groupResource(g))
		return nil
	}()
	h.finish(ctx, &c, err)
	return err
}

func (h *handler) deleteGroup(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	c := Change{Method: http.MethodDelete, ResourceType: "GROUP", ResourceID: id}
	err := func() error {
		// One transaction with the members' registry effects (see UpdateSCIMGroup).
		_, changes, err := h.s.Store.DeleteSCIMGroup(ctx, h.idp.ID, id, func(g *store.SCIMGroup) error {
			c.GroupName, c.ExternalID = g.DisplayName, g.ExternalID
			return checkIfMatch(r, g.Version)
		}, h.membershipEffect())
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

// schemasOr returns the resource's schemas, or def when it has none.
func schemasOr(res map[string]any, def string) any {
	if v, ok := lookup(res, "schemas"); ok {
		deleteAttr(res, "schemas")
		return v
	}
	return []any{def}
}
