package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrUserInactive means the user registry has the user deactivated (by an administrator or by
// SCIM deprovisioning): no session may start.
var ErrUserInactive = errors.New("user-inactive")

// Start is a login that succeeded at its identity provider and is about to become a session.
type Start struct {
	// Identity is the identity the IdP vouched for, its e-mail address normalised. Create sets
	// its UserID and merges the groups SCIM provisioning gives the user.
	Identity *identity.Identity
	// IP and Country are the client's, recorded with the user and the session.
	IP, Country string
	// Now is the login time and Lifetime how long the session lasts.
	Now      time.Time
	Lifetime time.Duration
}

// Create records a login: it upserts the user by e-mail address (last seen: this login), refuses
// deactivated users with ErrUserInactive, and stores a new session. Any other error is a store
// failure.
func Create(ctx context.Context, st store.Store, s Start) (*store.Session, error) {
	ident := s.Identity
	raw, err := json.Marshal(ident)
	if err != nil {
		return nil, fmt.Errorf("encode identity: %w", err)
	}
	user, err := st.UpsertUserByEmail(ctx, ident.Email, store.LastSeen{At: s.Now, IdPID: ident.IdP.ID, IdPType: ident.IdP.Type,
		IP: s.IP, Country: s.Country, Identity: raw})
	if err != nil {
		return nil, fmt.Errorf("record user: %w", err)
	}
	if user.Status != "" && user.Status != store.UserActive {
		return nil, ErrUserInactive
	}
	ident.UserID = user.ID
	if raw, err = json.Marshal(ident); err != nil {
		return nil, fmt.Errorf("encode identity: %w", err)
	}
	sess := &store.Session{
		ID: newID(), UserID: user.ID, Email: user.Email, IdPID: ident.IdP.ID,
		CreatedAt: s.Now, ExpiresAt: s.Now.Add(s.Lifetime), IP: s.IP, Country: s.Country, Identity: raw,
	}
	if err := st.CreateSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	MergeSCIMGroups(ident, user)
	return sess, nil
}

// newID returns a session ID: 18 random bytes, base64url (144 bits). It is the identity_nonce of
// every token issued from the session.
func newID() string {
	var b [18]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics first)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
