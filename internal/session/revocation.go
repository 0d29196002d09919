// Package session owns sessions: creating one after a login (Create), loading and verifying the
// session behind a request's token for every surface (Verifier: signature, type, audience,
// revocation, expiry, user status, SCIM groups), and revocation as the hot path sees it: an
// immutable in-memory copy of the store's revocation state (user-wide and app-wide not-before
// times, revoked session IDs), checked on every request without a store round trip and replaced
// whenever the store reports a change.
//
// The login flow (package authn) keeps cookies, redirects and minting; surfaces only ever ask a
// Verifier.
package session

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Revocation reasons returned by Check.
const (
	ReasonSessionRevoked = "session-revoked"
	ReasonUserRevoked    = "user-tokens-revoked"
	ReasonAppRevoked     = "app-tokens-revoked"
)

// Revocations holds the current revocation state. The zero value revokes nothing until Load.
type Revocations struct {
	state atomic.Pointer[store.Revocations]
}

// Load replaces the state with the store's current one.
func (r *Revocations) Load(ctx context.Context, st store.Store) error {
	rv, err := st.Revocations(ctx)
	if err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	r.state.Store(rv)
	return nil
}

// Current returns the current state (nil before Load); callers must not modify it.
func (r *Revocations) Current() *store.Revocations { return r.state.Load() }

// Set replaces the state (tests and callers that already hold one).
func (r *Revocations) Set(rv *store.Revocations) { r.state.Store(rv) }

// Check reports whether a token issued at issuedAt for the given user, app and session is still
// acceptable, and if not, why. appID or sessionID may be empty (service tokens have no user or
// session; org tokens no app). Not-before times have one-second resolution like JWT iat, so a
// token issued in the same second as a revocation is rejected.
func (r *Revocations) Check(userID, appID, sessionID string, issuedAt time.Time) (ok bool, reason string) {
	rv := r.state.Load()
	if rv == nil {
		return true, ""
	}
	if sessionID != "" {
		if _, revoked := rv.RevokedSessions[sessionID]; revoked {
			return false, ReasonSessionRevoked
		}
	}
	if userID != "" {
		if nb, found := rv.UserNotBefore[userID]; found && !issuedAt.After(nb) {
			return false, ReasonUserRevoked
		}
	}
	if appID != "" {
		if nb, found := rv.AppNotBefore[appID]; found && !issuedAt.After(nb) {
			return false, ReasonAppRevoked
		}
	}
	return true, ""
}
