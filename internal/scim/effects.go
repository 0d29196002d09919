package scim

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Registry effects (the IdP's scim_config) are store.SCIMEffects: the store runs them inside
// the SCIM write's transaction, so a write and what it does to the registry user and its
// sessions commit together or not at all. A failure therefore never leaves a deleted SCIM user
// whose registry user is still active (the IdP's retry would get 404 and stop), nor a
// deactivated one whose sessions still work: the retry finds the state unchanged and does all
// of it.

// link returns u linked to its registry user, linking it first when the rule in the package
// comment allows (and creating the registry user when no user has the address). The linking
// write carries effect, so the request's registry effects commit with the link. u is returned
// unchanged when it is linked already or cannot be linked.
func (h *handler) link(ctx context.Context, c *Change, u *store.SCIMUser, effect store.SCIMEffect) (*store.SCIMUser, error) {
	if u.RegistryUserID != "" || u.Email == "" {
		return u, nil
	}
	st := h.s.Store
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
		return u, storeError(err, "")
	}
	if !owns && !slices.Contains(reg.IdPIDs, h.idp.ID) {
		c.Effects = append(c.Effects, "not-linked-other-idp")
		h.s.log().LogAttrs(ctx, slog.LevelWarn, "scim user not linked: the registry user with this e-mail belongs to other identity providers",
			slog.String("idp", h.idp.ID), slog.String("scim_user", u.ID), slog.String("registry_user", reg.ID))
		return u, nil
	}
	linked, changes, err := st.UpdateSCIMUser(ctx, h.idp.ID, u.ID, func(x *store.SCIMUser) error {
		x.RegistryUserID, x.OwnsRegistryUser = reg.ID, owns
		return nil
	}, effect)
	if err != nil {
		return u, storeError(err, "")
	}
	c.Effects = append(c.Effects, "linked")
	h.applied(ctx, c, changes)
	return linked, nil
}

// userEffect returns the effect of a User write on the linked registry user. prior returns the
// SCIM user as it was before the request (nil when the request created it); for the write
// itself that is the store's Before, for a link that follows the write it is the user before
// the write.
//
// With user_deprovision, a user that is (or becomes) inactive or is deleted makes the registry
// user inactive and revokes all its sessions and gateway devices (deletion also drops the IdP's
// groups); a user
// that becomes active again reactivates it. Otherwise, with identity_update_behavior automatic,
// deleting the user drops the IdP's groups from the registry user.
func (h *handler) userEffect(prior func(c *store.SCIMRegistryChange) *store.SCIMUser) store.SCIMEffect {
	cfg, idp := h.cfg, h.idp.ID
	if !cfg.UserDeprovision && cfg.IdentityUpdateBehavior != store.SCIMUpdateAutomatic {
		return nil
	}
	return func(c *store.SCIMRegistryChange) error {
		reg, old := c.User, prior(c)
		deleted := c.After == nil
		active := !deleted && c.After.Active
		switch {
		case cfg.UserDeprovision && !active && (old == nil || old.Active || deleted || reg.Status == store.UserActive):
			// reg.Status still active means an earlier deactivation never committed: do it now.
			reg.Status = store.UserInactive
			if deleted {
				delete(reg.SCIMGroups, idp)
			}
			c.RevokeSessions = true
			// Gateway devices too: a revoked device stays revoked after a reactivation.
			c.RevokeDevices = true
			c.Effects = []string{"deactivated", "sessions-revoked", "devices-revoked"}
			if cfg.SeatDeprovision {
				// Gatehouse has no seat accounting yet: the removal is recorded for the audit log.
				c.Effects = append(c.Effects, "seat-removed")
			}
		case cfg.UserDeprovision && active && (old == nil || !old.Active) && reg.Status != store.UserActive:
			reg.Status = store.UserActive
			c.Effects = []string{"reactivated"}
		case deleted && cfg.IdentityUpdateBehavior == store.SCIMUpdateAutomatic:
			delete(reg.SCIMGroups, idp)
			c.Effects = []string{"groups-updated"}
		}
		return nil
	}
}

// beforeWrite is the prior state of a write that changes an existing SCIM user.
func beforeWrite(c *store.SCIMRegistryChange) *store.SCIMUser { return c.Before }

// membershipEffect returns the effect of a Group write on the registry users of the members who
// joined or left (identity_update_behavior): automatic stores their SCIM group names with the
// registry user, reauth revokes their sessions, no_action does nothing.
func (h *handler) membershipEffect() store.SCIMEffect {
	idp := h.idp.ID
	switch h.cfg.IdentityUpdateBehavior {
	case store.SCIMUpdateReauth:
		return func(c *store.SCIMRegistryChange) error {
			c.RevokeSessions = true
			c.Effects = []string{"sessions-revoked"}
			return nil
		}
	case store.SCIMUpdateAutomatic:
		return func(c *store.SCIMRegistryChange) error {
			if len(c.Groups) == 0 {
				delete(c.User.SCIMGroups, idp)
			} else {
				if c.User.SCIMGroups == nil {
					c.User.SCIMGroups = map[string][]string{}
				}
				c.User.SCIMGroups[idp] = c.Groups
			}
			c.Effects = []string{"groups-updated"}
			return nil
		}
	}
	return nil
}

// applied records the committed registry changes of a write in the change log and, when
// sessions were revoked, makes the revocation effective at once (Server.Revoked).
func (h *handler) applied(ctx context.Context, c *Change, changes []store.SCIMRegistryChange) {
	revoked := false
	for _, ch := range changes {
		for _, e := range ch.Effects {
			if !slices.Contains(c.Effects, e) {
				c.Effects = append(c.Effects, e)
			}
		}
		revoked = revoked || ch.RevokeSessions
	}
	if revoked && h.s.Revoked != nil {
		h.s.Revoked(ctx)
	}
}
