package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// scimUserColumns maps the SCIM User attributes a filter may compare in SQL to their columns.
// userName compares case-insensitively and is stored folded, so its index serves eq filters.
// emails.value is not here: a user may have several addresses and the email column holds only
// the primary one, so such filters are evaluated in memory on every address.
var scimUserColumns = map[string]store.SCIMColumn{
	"id":                {Expr: "id", Kind: "string", CaseExact: true},
	"externalId":        {Expr: "external_id", Kind: "string", CaseExact: true},
	"userName":          {Expr: "user_name_folded", Kind: "string", Folded: true},
	"displayName":       {Expr: "display_name", Kind: "string"},
	"active":            {Expr: "active", Kind: "bool"},
	"meta.lastModified": {Expr: "updated_at", Kind: "micros"},
	"meta.created":      {Expr: "created_at", Kind: "micros"},
}

// scimGroupColumns maps the SCIM Group attributes a filter may compare in SQL.
var scimGroupColumns = map[string]store.SCIMColumn{
	"id":                {Expr: "id", Kind: "string", CaseExact: true},
	"externalId":        {Expr: "external_id", Kind: "string", CaseExact: true},
	"displayName":       {Expr: "display_name", Kind: "string"},
	"meta.lastModified": {Expr: "updated_at", Kind: "micros"},
	"meta.created":      {Expr: "created_at", Kind: "micros"},
}

// SetSCIMSecret stores or replaces an IdP's SCIM secret hash.
func (s *Store) SetSCIMSecret(ctx context.Context, idpID, hash string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		_, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO scim_secrets (idp_id, secret_hash, created_at) VALUES (?, ?, ?)"+
			s.d.upsert("idp_id", "secret_hash = excluded.secret_hash, created_at = excluded.created_at")), idpID, hash, micros(now))
		return err
	})
	if err != nil {
		return s.fail("set scim secret", err)
	}
	return nil
}

// GetSCIMSecret returns an IdP's SCIM secret hash.
func (s *Store) GetSCIMSecret(ctx context.Context, idpID string) (*store.SCIMSecret, error) {
	sec := &store.SCIMSecret{IdPID: idpID}
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var created int64
		err := tx.QueryRowContext(ctx, s.d.rebind("SELECT secret_hash, created_at FROM scim_secrets WHERE idp_id = ?"), idpID).Scan(&sec.Hash, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		sec.CreatedAt = fromMicros(created)
		return err
	})
	if err != nil {
		return nil, s.fail("get scim secret", err)
	}
	return sec, nil
}

const scimUserSelect = "SELECT id, idp_id, external_id, user_name, display_name, email, active, registry_user_id, owns_registry_user, version, created_at, updated_at, attributes FROM scim_users"

func scanSCIMUser(sc scanner) (*store.SCIMUser, error) {
	var (
		u                store.SCIMUser
		active, owns     bool
		created, updated int64
		attrs            string
	)
	if err := sc.Scan(&u.ID, &u.IdPID, &u.ExternalID, &u.UserName, &u.DisplayName, &u.Email, &active, &u.RegistryUserID, &owns,
		&u.Version, &created, &updated, &attrs); err != nil {
		return nil, err
	}
	u.Active, u.OwnsRegistryUser = active, owns
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	if attrs != "" {
		u.Attributes = []byte(attrs)
	}
	return &u, nil
}

func (s *Store) getSCIMUser(ctx context.Context, tx *sql.Tx, idpID, id string, lock bool) (*store.SCIMUser, error) {
	q := scimUserSelect + " WHERE id = ? AND idp_id = ?"
	if lock {
		q += s.d.forUpdate
	}
	u, err := scanSCIMUser(tx.QueryRowContext(ctx, s.d.rebind(q), id, idpID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return u, err
}

// scimEmail returns the normal form (package mailaddr) of a SCIM user's address, "" for none.
func scimEmail(email string) (string, error) {
	if email == "" {
		return "", nil
	}
	return mailaddr.Normalize(email)
}

// CreateSCIMUser stores a new SCIM user with Version 1 and its e-mail in normal form.
func (s *Store) CreateSCIMUser(ctx context.Context, u *store.SCIMUser) error {
	email, err := scimEmail(u.Email)
	if err != nil {
		return fmt.Errorf("sqlstore: create scim user: %w", err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		_, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO scim_users (id, idp_id, external_id, user_name, user_name_folded, display_name, email, active, registry_user_id, owns_registry_user, version, created_at, updated_at, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)"),
			u.ID, u.IdPID, u.ExternalID, u.UserName, strings.ToLower(u.UserName), u.DisplayName, email, u.Active,
			u.RegistryUserID, u.OwnsRegistryUser, micros(now), micros(now), string(u.Attributes))
		if s.d.isUniqueViolation(err) {
			return store.ErrAlreadyExists
		}
		if err != nil {
			return err
		}
		u.Version, u.CreatedAt, u.UpdatedAt, u.Email = 1, now, now, email
		return nil
	})
	if err != nil {
		return s.fail("create scim user", err)
	}
	return nil
}

// GetSCIMUser returns one of the IdP's SCIM users.
func (s *Store) GetSCIMUser(ctx context.Context, idpID, id string) (*store.SCIMUser, error) {
	var u *store.SCIMUser
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var err error
		u, err = s.getSCIMUser(ctx, tx, idpID, id, false)
		return err
	})
	if err != nil {
		return nil, s.fail("get scim user", err)
	}
	return u, nil
}

// UpdateSCIMUser runs update on the SCIM user and stores the result with Version+1, then
// effect on its linked registry user, in one transaction.
func (s *Store) UpdateSCIMUser(ctx context.Context, idpID, id string, update func(*store.SCIMUser) error, effect store.SCIMEffect) (*store.SCIMUser, []store.SCIMRegistryChange, error) {
	var (
		u       *store.SCIMUser
		changes []store.SCIMRegistryChange
		revoked bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		cur, err := s.getSCIMUser(ctx, tx, idpID, id, true)
		if err != nil {
			return err
		}
		before := cloneSCIMUser(cur)
		version, created, email := cur.Version, cur.CreatedAt, cur.Email
		if err := update(cur); err != nil {
			return &callbackError{err}
		}
		cur.ID, cur.IdPID, cur.CreatedAt, cur.UpdatedAt, cur.Version = id, idpID, created, now, version+1
		if cur.Email != email {
			if cur.Email, err = scimEmail(cur.Email); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.d.rebind("UPDATE scim_users SET external_id = ?, user_name = ?, user_name_folded = ?, display_name = ?, email = ?, active = ?, registry_user_id = ?, owns_registry_user = ?, version = ?, updated_at = ?, attributes = ? WHERE id = ?"),
			cur.ExternalID, cur.UserName, strings.ToLower(cur.UserName), cur.DisplayName, cur.Email, cur.Active, cur.RegistryUserID,
			cur.OwnsRegistryUser, cur.Version, micros(now), string(cur.Attributes), id)
		if s.d.isUniqueViolation(err) {
			return fmt.Errorf("userName taken: %w", store.ErrAlreadyExists)
		}
		if err != nil {
			return err
		}
		u = cur
		changes, revoked, err = s.registryEffects(ctx, tx, idpID, []scimTarget{{before, cur}}, effect, now)
		return err
	})
	if err != nil {
		return nil, nil, s.fail("update scim user", err)
	}
	s.notifyRevoked(revoked)
	return u, changes, nil
}

// DeleteSCIMUser runs check, deletes the SCIM user (its memberships go with it, ON DELETE
// CASCADE) and runs effect on its linked registry user, in one transaction.
func (s *Store) DeleteSCIMUser(ctx context.Context, idpID, id string, check func(*store.SCIMUser) error, effect store.SCIMEffect) (*store.SCIMUser, []store.SCIMRegistryChange, error) {
	var (
		gone    *store.SCIMUser
		changes []store.SCIMRegistryChange
		revoked bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		cur, err := s.getSCIMUser(ctx, tx, idpID, id, true)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(cloneSCIMUser(cur)); err != nil {
				return &callbackError{err}
			}
		}
		// Groups that lose a member change too.
		if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE scim_groups SET version = version + 1, updated_at = ? WHERE id IN (SELECT group_id FROM scim_members WHERE user_id = ?)"),
			micros(now), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM scim_users WHERE id = ?"), id); err != nil {
			return err
		}
		gone = cur
		changes, revoked, err = s.registryEffects(ctx, tx, idpID, []scimTarget{{cur, nil}}, effect, now)
		return err
	})
	if err != nil {
		return nil, nil, s.fail("delete scim user", err)
	}
	s.notifyRevoked(revoked)
	return gone, changes, nil
}

// scimTarget is a SCIM user a write affects, before and after it (after is nil once deleted).
type scimTarget struct{ before, after *store.SCIMUser }

// registryEffects runs effect, inside tx, for every target linked to an existing registry user
// (in SCIM user ID order), and stores what it changed: the registry user as UpdateUser would,
// and a session revocation as RevokeUserSessions would. It returns the changes and whether
// revocation state changed (the caller notifies watchers after the commit).
func (s *Store) registryEffects(ctx context.Context, tx *sql.Tx, idpID string, targets []scimTarget, effect store.SCIMEffect, now time.Time) ([]store.SCIMRegistryChange, bool, error) {
	if effect == nil {
		return nil, false, nil
	}
	scimID := func(t scimTarget) string {
		if t.after != nil {
			return t.after.ID
		}
		return t.before.ID
	}
	slices.SortFunc(targets, func(a, b scimTarget) int { return strings.Compare(scimID(a), scimID(b)) })
	var (
		out     []store.SCIMRegistryChange
		revoked bool
	)
	for _, t := range targets {
		link := t.before.RegistryUserID
		if t.after != nil {
			link = t.after.RegistryUserID
		}
		if link == "" {
			continue
		}
		reg, err := s.getUser(ctx, tx, link, true)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		groups, err := s.scimGroupNames(ctx, tx, idpID, scimID(t))
		if err != nil {
			return nil, false, err
		}
		before := cloneUser(reg)
		c := store.SCIMRegistryChange{Before: cloneSCIMUser(t.before), Groups: groups, User: reg}
		if t.after != nil {
			c.After = cloneSCIMUser(t.after)
		}
		if err := effect(&c); err != nil {
			return nil, false, &callbackError{err}
		}
		if !reflect.DeepEqual(before, c.User) {
			u, rv, err := s.storeUser(ctx, tx, before, c.User, now)
			if err != nil {
				return nil, false, err
			}
			c.User, revoked = u, revoked || rv
		}
		if c.RevokeSessions {
			if err := s.revokeUserSessions(ctx, tx, link, now); err != nil {
				return nil, false, err
			}
			if c.User, err = s.getUser(ctx, tx, link, false); err != nil {
				return nil, false, err
			}
			revoked = true
		}
		if c.RevokeDevices {
			n, err := s.revokeUserGatewayDevices(ctx, tx, link, now)
			if err != nil {
				return nil, false, err
			}
			revoked = revoked || n > 0
		}
		out = append(out, c)
	}
	return out, revoked, nil
}

// scimGroupNames returns the display names of the IdP's groups the SCIM user belongs to,
// sorted bytewise (the same on every database) without duplicates.
func (s *Store) scimGroupNames(ctx context.Context, tx *sql.Tx, idpID, userID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, s.d.rebind("SELECT g.display_name FROM scim_groups g JOIN scim_members m ON m.group_id = g.id WHERE m.user_id = ? AND g.idp_id = ?"),
		userID, idpID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// scimTargets returns the SCIM users ids (unchanged by the write) as targets.
func (s *Store) scimTargets(ctx context.Context, tx *sql.Tx, idpID string, ids []string) ([]scimTarget, error) {
	var out []scimTarget
	for _, id := range ids {
		u, err := s.getSCIMUser(ctx, tx, idpID, id, false)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, scimTarget{u, u})
	}
	return out, nil
}

// notifyRevoked tells watchers about a committed revocation change.
func (s *Store) notifyRevoked(revoked bool) {
	if revoked {
		s.watchers.notify(store.Change{Revocations: true})
	}
}

func cloneSCIMUser(u *store.SCIMUser) *store.SCIMUser {
	c := *u
	c.Attributes = slices.Clone(u.Attributes)
	return &c
}

// cloneUser returns a deep copy of u.
func cloneUser(u *store.User) *store.User {
	c := *u
	c.IdPIDs = slices.Clone(u.IdPIDs)
	c.LastSeen.Identity = slices.Clone(u.LastSeen.Identity)
	if u.SCIMGroups != nil {
		c.SCIMGroups = make(map[string][]string, len(u.SCIMGroups))
		for k, v := range u.SCIMGroups {
			c.SCIMGroups[k] = slices.Clone(v)
		}
	}
	return &c
}

// where compiles q's filter against columns into a WHERE clause for the IdP.
func scimWhere(q store.SCIMQuery, columns map[string]store.SCIMColumn) (string, []any, error) {
	where, args := "idp_id = ?", []any{q.IdPID}
	if q.Filter != nil {
		w, a, err := q.Filter.ToSQL(columns)
		if err != nil {
			return "", nil, err
		}
		where += " AND (" + w + ")"
		args = append(args, a...)
	}
	return where, args, nil
}

// ListSCIMUsers returns a page of the IdP's SCIM users matching q and the total count.
func (s *Store) ListSCIMUsers(ctx context.Context, q store.SCIMQuery) ([]store.SCIMUser, int, error) {
	where, args, err := scimWhere(q, scimUserColumns)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list scim users: %w", err)
	}
	var (
		list  []store.SCIMUser
		total int
	)
	err = s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		list = nil
		if err := tx.QueryRowContext(ctx, s.d.rebind("SELECT COUNT(*) FROM scim_users WHERE "+where), args...).Scan(&total); err != nil {
			return err
		}
		if q.Limit <= 0 {
			return nil
		}
		rows, err := tx.QueryContext(ctx, s.d.rebind(scimUserSelect+" WHERE "+where+" ORDER BY created_at, id LIMIT ? OFFSET ?"),
			append(slices.Clone(args), q.Limit, max(q.Offset, 0))...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanSCIMUser(rows)
			if err != nil {
				return err
			}
			list = append(list, *u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, s.fail("list scim users", err)
	}
	return list, total, nil
}

const scimGroupSelect = "SELECT id, idp_id, external_id, display_name, version, created_at, updated_at, attributes FROM scim_groups"

func scanSCIMGroup(sc scanner) (*store.SCIMGroup, error) {
	var (
		g                store.SCIMGroup
		created, updated int64
		attrs            string
	)
	if err := sc.Scan(&g.ID, &g.IdPID, &g.ExternalID, &g.DisplayName, &g.Version, &created, &updated, &attrs); err != nil {
		return nil, err
	}
	g.CreatedAt, g.UpdatedAt = fromMicros(created), fromMicros(updated)
	if attrs != "" {
		g.Attributes = []byte(attrs)
	}
	return &g, nil
}

func (s *Store) getSCIMGroup(ctx context.Context, tx *sql.Tx, idpID, id string, lock, members bool) (*store.SCIMGroup, error) {
	q := scimGroupSelect + " WHERE id = ? AND idp_id = ?"
	if lock {
		q += s.d.forUpdate
	}
	g, err := scanSCIMGroup(tx.QueryRowContext(ctx, s.d.rebind(q), id, idpID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil || !members {
		return g, err
	}
	g.Members, err = s.groupMembers(ctx, tx, id)
	return g, err
}

func (s *Store) groupMembers(ctx context.Context, tx *sql.Tx, groupID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, s.d.rebind("SELECT user_id FROM scim_members WHERE group_id = ? ORDER BY user_id"), groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// setMembers replaces the group's member rows, checking that each member is a SCIM user of the
// IdP. It returns the sorted, de-duplicated member list.
func (s *Store) setMembers(ctx context.Context, tx *sql.Tx, idpID, groupID string, members []string) ([]string, error) {
	members = slices.Clone(members)
	slices.Sort(members)
	members = slices.Compact(members)
	if _, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM scim_members WHERE group_id = ?"), groupID); err != nil {
		return nil, err
	}
	for _, m := range members {
		res, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO scim_members (group_id, user_id) SELECT ?, id FROM scim_users WHERE id = ? AND idp_id = ?"),
			groupID, m, idpID)
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n == 0 {
			return nil, fmt.Errorf("member %q: %w", m, store.ErrNotFound)
		}
	}
	if len(members) == 0 {
		members = nil
	}
	return members, nil
}

// CreateSCIMGroup stores a new group with Version 1 and its members, then runs effect for them,
// in one transaction.
func (s *Store) CreateSCIMGroup(ctx context.Context, g *store.SCIMGroup, effect store.SCIMEffect) ([]store.SCIMRegistryChange, error) {
	var (
		members []string
		changes []store.SCIMRegistryChange
		revoked bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		_, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO scim_groups (id, idp_id, external_id, display_name, version, created_at, updated_at, attributes) VALUES (?, ?, ?, ?, 1, ?, ?, ?)"),
			g.ID, g.IdPID, g.ExternalID, g.DisplayName, micros(now), micros(now), string(g.Attributes))
		if s.d.isUniqueViolation(err) {
			return store.ErrAlreadyExists
		}
		if err != nil {
			return err
		}
		if members, err = s.setMembers(ctx, tx, g.IdPID, g.ID, g.Members); err != nil {
			return err
		}
		targets, err := s.scimTargets(ctx, tx, g.IdPID, members)
		if err != nil {
			return err
		}
		if changes, revoked, err = s.registryEffects(ctx, tx, g.IdPID, targets, effect, now); err != nil {
			return err
		}
		g.Version, g.CreatedAt, g.UpdatedAt = 1, now, now
		return nil
	})
	if err != nil {
		return nil, s.fail("create scim group", err)
	}
	s.notifyRevoked(revoked)
	g.Members = members
	return changes, nil
}

// GetSCIMGroup returns one of the IdP's groups with its members.
func (s *Store) GetSCIMGroup(ctx context.Context, idpID, id string) (*store.SCIMGroup, error) {
	var g *store.SCIMGroup
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var err error
		g, err = s.getSCIMGroup(ctx, tx, idpID, id, false, true)
		return err
	})
	if err != nil {
		return nil, s.fail("get scim group", err)
	}
	return g, nil
}

// UpdateSCIMGroup runs update on the group and stores it with Version+1, members included,
// then runs effect for the users who joined or left, in one transaction.
func (s *Store) UpdateSCIMGroup(ctx context.Context, idpID, id string, update func(*store.SCIMGroup) error, effect store.SCIMEffect) (*store.SCIMGroup, []store.SCIMRegistryChange, error) {
	var (
		g       *store.SCIMGroup
		changes []store.SCIMRegistryChange
		revoked bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		cur, err := s.getSCIMGroup(ctx, tx, idpID, id, true, true)
		if err != nil {
			return err
		}
		before := slices.Clone(cur.Members)
		version, created := cur.Version, cur.CreatedAt
		if err := update(cur); err != nil {
			return &callbackError{err}
		}
		cur.ID, cur.IdPID, cur.CreatedAt, cur.UpdatedAt, cur.Version = id, idpID, created, now, version+1
		if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE scim_groups SET external_id = ?, display_name = ?, version = ?, updated_at = ?, attributes = ? WHERE id = ?"),
			cur.ExternalID, cur.DisplayName, cur.Version, micros(now), string(cur.Attributes), id); err != nil {
			return err
		}
		if cur.Members, err = s.setMembers(ctx, tx, idpID, id, cur.Members); err != nil {
			return err
		}
		targets, err := s.scimTargets(ctx, tx, idpID, symmetricDiff(before, cur.Members))
		if err != nil {
			return err
		}
		if changes, revoked, err = s.registryEffects(ctx, tx, idpID, targets, effect, now); err != nil {
			return err
		}
		g = cur
		return nil
	})
	if err != nil {
		return nil, nil, s.fail("update scim group", err)
	}
	s.notifyRevoked(revoked)
	return g, changes, nil
}

// symmetricDiff returns the IDs in exactly one of two sorted, de-duplicated lists, sorted.
func symmetricDiff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if _, found := slices.BinarySearch(a, x); !found {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

// DeleteSCIMGroup runs check, deletes the group (its memberships go with it) and runs effect for
// its former members, in one transaction.
func (s *Store) DeleteSCIMGroup(ctx context.Context, idpID, id string, check func(*store.SCIMGroup) error, effect store.SCIMEffect) (*store.SCIMGroup, []store.SCIMRegistryChange, error) {
	var (
		gone    *store.SCIMGroup
		changes []store.SCIMRegistryChange
		revoked bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		cur, err := s.getSCIMGroup(ctx, tx, idpID, id, true, true)
		if err != nil {
			return err
		}
		if check != nil {
			arg := *cur
			arg.Members, arg.Attributes = slices.Clone(cur.Members), slices.Clone(cur.Attributes)
			if err := check(&arg); err != nil {
				return &callbackError{err}
			}
		}
		targets, err := s.scimTargets(ctx, tx, idpID, cur.Members)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM scim_groups WHERE id = ? AND idp_id = ?"), id, idpID); err != nil {
			return err
		}
		if changes, revoked, err = s.registryEffects(ctx, tx, idpID, targets, effect, now); err != nil {
			return err
		}
		gone = cur
		return nil
	})
	if err != nil {
		return nil, nil, s.fail("delete scim group", err)
	}
	s.notifyRevoked(revoked)
	return gone, changes, nil
}

// ListSCIMGroups returns a page of the IdP's groups matching q, with members, and the total.
func (s *Store) ListSCIMGroups(ctx context.Context, q store.SCIMQuery) ([]store.SCIMGroup, int, error) {
	where, args, err := scimWhere(q, scimGroupColumns)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list scim groups: %w", err)
	}
	var (
		list  []store.SCIMGroup
		total int
	)
	err = s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		list = nil
		if err := tx.QueryRowContext(ctx, s.d.rebind("SELECT COUNT(*) FROM scim_groups WHERE "+where), args...).Scan(&total); err != nil {
			return err
		}
		if q.Limit <= 0 {
			return nil
		}
		rows, err := tx.QueryContext(ctx, s.d.rebind(scimGroupSelect+" WHERE "+where+" ORDER BY created_at, id LIMIT ? OFFSET ?"),
			append(slices.Clone(args), q.Limit, max(q.Offset, 0))...)
		if err != nil {
			return err
		}
		for rows.Next() {
			g, err := scanSCIMGroup(rows)
			if err != nil {
				rows.Close()
				return err
			}
			list = append(list, *g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range list {
			if list[i].Members, err = s.groupMembers(ctx, tx, list[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, s.fail("list scim groups", err)
	}
	return list, total, nil
}

// SCIMGroupsOfUser returns the IdP's groups the SCIM user belongs to, without member lists.
func (s *Store) SCIMGroupsOfUser(ctx context.Context, idpID, userID string) ([]store.SCIMGroup, error) {
	var list []store.SCIMGroup
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		list = nil
		rows, err := tx.QueryContext(ctx, s.d.rebind(scimGroupSelect+" WHERE idp_id = ? AND id IN (SELECT group_id FROM scim_members WHERE user_id = ?) ORDER BY created_at, id"),
			idpID, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			g, err := scanSCIMGroup(rows)
			if err != nil {
				return err
			}
			list = append(list, *g)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("scim groups of user", err)
	}
	return list, nil
}
