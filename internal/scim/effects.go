package scim

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
)

// link returns the registry user linked to u, linking it first when the rule in the package
// comment allows (and creating the registry user when no user has the address). It returns nil
// when u is not linked.
func (h *handler) link(ctx context.Context, c *Change, u *store.SCIMUser, deleted bool) (*store.SCIMUser, *store.User, error) {
	st := h.s.Store
	if u.RegistryUserID != "" {
		reg, err := st.GetUser(ctx, u.RegistryUserID)
		if errors.Is(err, store.ErrNotFound) {
			return u, nil, nil
		}
		if err != nil {
			return u, nil, storeError(err, "")
		}
		return u, reg, nil
	}
	if deleted || u.Email == "" {
		return u, nil, nil
	}
	owns := false
	reg, err := st.GetUserByEmail(ctx, u.Email)
	if errors.Is(err, store.ErrNotFound) {
		status := store.UserActive
		if !u.Active {
			status = store.UserInactive
		}
		nu := &store.User{Email: u.Email, Name: u.DisplayName, Status: status, IdPIDs: []string{h.idp.ID}}
		err = st.CreateUser(ctx, nu)
		switch {
		case err == nil:
			reg, owns = nu, true
			c.Effects = append(c.Effects, "registry-user-created")
		case errors.Is(err, store.ErrAlreadyExists): // a login won the race
			reg, err = st.GetUserByEmail(ctx, u.Email)
		}
	}
	if err != nil {
		return u, nil, storeError(err, "")
	}
	if !owns && !slices.Contains(reg.IdPIDs, h.idp.ID) {
		c.Effects = append(c.Effects, "not-linked-other-idp")
		h.s.log().LogAttrs(ctx, slog.LevelWarn, "scim user not linked: the registry user with this e-mail belongs to other identity providers",
			slog.String("idp", h.idp.ID), slog.String("scim_user", u.ID), slog.String("registry_user", reg.ID))
		return u, nil, nil
	}
	linked, err := st.UpdateSCIMUser(ctx, h.idp.ID, u.ID, func(x *store.SCIMUser) error {
		x.RegistryUserID, x.OwnsRegistryUser = reg.ID, owns
		return nil
	})
	if err != nil {
		return u, nil, storeError(err, "")
	}
	c.Effects = append(c.Effects, "linked")
	return linked, reg, nil
}

// applyUserEffects links u and applies the IdP's scim_config to its registry user after a
// write: old is the user before it (nil on create), deleted says u was deleted.
func (h *handler) applyUserEffects(ctx context.Context, c *Change, old, u *store.SCIMUser, deleted bool) (*store.SCIMUser, error) {
	u, reg, err := h.link(ctx, c, u, deleted)
	if err != nil || reg == nil {
		return u, err
	}
	st := h.s.Store
	switch {
	case h.cfg.UserDeprovision && (deleted || !u.Active) && (old == nil || old.Active || deleted || reg.Status == store.UserActive):
		if _, err := st.UpdateUser(ctx, reg.ID, func(x *store.User) error {
			x.Status = store.UserInactive
			if deleted {
				delete(x.SCIMGroups, h.idp.ID)
			}
			return nil
		}); err != nil {
			return u, storeError(err, "")
		}
		c.Effects = append(c.Effects, "deactivated")
		if err := h.revoke(ctx, c, reg.ID); err != nil {
			return u, err
		}
		if h.cfg.SeatDeprovision {
			// Gatehouse has no seat accounting yet: the removal is recorded for the audit log.
			c.Effects = append(c.Effects, "seat-removed")
		}
	case h.cfg.UserDeprovision && !deleted && u.Active && (old == nil || !old.Active) && reg.Status != store.UserActive:
		if _, err := st.UpdateUser(ctx, reg.ID, func(x *store.User) error {
			x.Status = store.UserActive
			return nil
		}); err != nil {
			return u, storeError(err, "")
		}
		c.Effects = append(c.Effects, "reactivated")
	case deleted && h.cfg.IdentityUpdateBehavior == store.SCIMUpdateAutomatic:
		if _, err := st.UpdateUser(ctx, reg.ID, func(x *store.User) error {
			delete(x.SCIMGroups, h.idp.ID)
			return nil
		}); err != nil {
			return u, storeError(err, "")
		}
		c.Effects = append(c.Effects, "groups-updated")
	}
	return u, nil
}

// revoke revokes every session of a registry user and makes the revocation effective at once.
func (h *handler) revoke(ctx context.Context, c *Change, regID string) error {
	if err := h.s.Store.RevokeUserSessions(ctx, regID); err != nil {
		return storeError(err, "")
	}
	if h.s.Revoked != nil {
		h.s.Revoked(ctx)
	}
	if !slices.Contains(c.Effects, "sessions-revoked") {
		c.Effects = append(c.Effects, "sessions-revoked")
	}
	return nil
}

// applyMembershipEffects applies identity_update_behavior to the SCIM users whose group
// membership changed.
func (h *handler) applyMembershipEffects(ctx context.Context, c *Change, userIDs []string) error {
	behavior := h.cfg.IdentityUpdateBehavior
	if behavior != store.SCIMUpdateAutomatic && behavior != store.SCIMUpdateReauth {
		return nil
	}
	st := h.s.Store
	for _, id := range userIDs {
		u, err := st.GetSCIMUser(ctx, h.idp.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return storeError(err, "")
		}
		if u.RegistryUserID == "" {
			continue
		}
		if behavior == store.SCIMUpdateReauth {
			if err := h.revoke(ctx, c, u.RegistryUserID); err != nil {
				return err
			}
			continue
		}
		groups, err := st.SCIMGroupsOfUser(ctx, h.idp.ID, id)
		if err != nil {
			return storeError(err, "")
		}
		var names []string
		for _, g := range groups {
			names = append(names, g.DisplayName)
		}
		slices.Sort(names)
		names = slices.Compact(names)
		if _, err := st.UpdateUser(ctx, u.RegistryUserID, func(x *store.User) error {
			if len(names) == 0 {
				delete(x.SCIMGroups, h.idp.ID)
				return nil
			}
			if x.SCIMGroups == nil {
				x.SCIMGroups = map[string][]string{}
			}
			x.SCIMGroups[h.idp.ID] = names
			return nil
		}); err != nil && !errors.Is(err, store.ErrNotFound) {
			return storeError(err, "")
		}
		if !slices.Contains(c.Effects, "groups-updated") {
			c.Effects = append(c.Effects, "groups-updated")
		}
	}
	return nil
}
