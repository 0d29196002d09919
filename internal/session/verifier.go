package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// ErrNoSession means a request carries no usable session: no token, a token that does not
// verify, a revoked or expired session. It is not a failure; callers send the user to log in.
// Any other error from the Verifier is a failure (the store is unreachable) and fails closed.
var ErrNoSession = errors.New("no valid session")

// IsNoSession reports whether err only means "not logged in".
func IsNoSession(err error) bool { return errors.Is(err, ErrNoSession) }

// Reasons a Verifier refuses a session for, as Reason returns them (kebab-case, for logs, the
// deny page and metrics). A token that does not verify has the reason of TokenReason
// ("token-expired", "token-bad-signature", ...); revocation the reasons of Revocations.Check
// (ReasonSessionRevoked, ReasonUserRevoked, ReasonAppRevoked).
const (
	// ReasonNoSession: no token at all (or an ErrNoSession without a reason).
	ReasonNoSession = "no-session"
	// ReasonWrongTokenType: an org token where an app token belongs, or the reverse.
	ReasonWrongTokenType = "token-wrong-type"
	// ReasonAudienceMismatch: the token is for another application (or not for the auth domain).
	ReasonAudienceMismatch = "token-audience-mismatch"
	// ReasonNoSubject: the token names no user or session (a service-token JWT).
	ReasonNoSubject = "token-without-session"
	// ReasonKeyRetired: the token's signing key has left the published key set.
	ReasonKeyRetired = "token-key-retired"
	// ReasonSessionNotFound: the token's session does not exist (any more).
	ReasonSessionNotFound = "session-not-found"
	// ReasonSessionExpired: the token's session has expired.
	ReasonSessionExpired = "session-expired"
	// ReasonSubjectMismatch: the token's session belongs to another user.
	ReasonSubjectMismatch = "session-subject-mismatch"
	// ReasonUserNotFound: the session's user no longer exists.
	ReasonUserNotFound = "user-not-found"
	// ReasonUserInactive: the session's user has been deactivated (e.g. by SCIM).
	ReasonUserInactive = "user-inactive"
)

// IsRefusal reports whether reason is one a Verifier refuses a presented credential for (every
// Reason constant but ReasonNoSession, the reasons of TokenReason and of revocation): a request
// that carried a token and was refused, rather than one that carried none.
func IsRefusal(reason string) bool { return refusals[reason] }

var refusals = map[string]bool{
	ReasonWrongTokenType: true, ReasonAudienceMismatch: true, ReasonNoSubject: true, ReasonKeyRetired: true,
	ReasonSessionNotFound: true, ReasonSessionExpired: true, ReasonSubjectMismatch: true, ReasonUserNotFound: true,
	ReasonUserInactive: true, ReasonSessionRevoked: true, ReasonUserRevoked: true, ReasonAppRevoked: true,
	"token-expired": true, "token-not-yet-valid": true, "token-bad-signature": true, "token-unknown-key": true,
	"token-bad-algorithm": true, "token-wrong-issuer": true, "token-malformed": true,
}

// noSessionError is the ErrNoSession of a refused session, with its reason and, for a token
// that did not verify, the token error.
type noSessionError struct {
	reason string
	cause  error
}

func (e *noSessionError) Error() string {
	if e.cause != nil {
		return ErrNoSession.Error() + ": " + e.reason + ": " + e.cause.Error()
	}
	return ErrNoSession.Error() + ": " + e.reason
}

// Is makes errors.Is(err, ErrNoSession) hold.
func (e *noSessionError) Is(target error) bool { return target == ErrNoSession }

// Unwrap returns the token verification error, if any.
func (e *noSessionError) Unwrap() error { return e.cause }

// noSession returns an ErrNoSession with its reason.
func noSession(reason string) error { return &noSessionError{reason: reason} }

// Reason returns why a session was refused: the kebab-case reason of an ErrNoSession from a
// Verifier (see ReasonNoSession and the other Reason constants, TokenReason and
// Revocations.Check), ReasonNoSession for ErrNoSession itself, and "" for nil or any other
// error (a failure, not a refusal).
func Reason(err error) string {
	var ns *noSessionError
	switch {
	case errors.As(err, &ns):
		return ns.reason
	case errors.Is(err, ErrNoSession):
		return ReasonNoSession
	}
	return ""
}

// Verified is a verified session: the token's claims, the stored session and the identity kept
// with it (with the groups SCIM provisioning gives the user merged in).
type Verified struct {
	Claims   *token.Claims
	Session  *store.Session
	Identity *identity.Identity
}

// Grant is a user allowed into an application through the login flow (a SaaS application, the
// App Launcher): the identity of their login (with UserID set, the stable UUID), their org
// session, and the policy decision that allowed them.
type Grant struct {
	Identity  *identity.Identity
	SessionID string
	Decision  policy.Decision
}

// Freshness is what a relying party asks of the login behind a grant.
type Freshness struct {
	// AuthAfter, when set, requires the session's login to have happened at or after it (OIDC
	// prompt=login and max_age, SAML ForceAuthn): an older session logs in again, and the identity
	// provider is asked to authenticate the user anew.
	AuthAfter time.Time
}

// Want is what a session token must be for the request at hand.
type Want struct {
	// Type is the token type: "org" on the auth domain, "app" on an application's host.
	Type string
	// Audience is the audience tag the token must carry (the org audience or the app's AUD).
	Audience string
	// AppID is the application whose app-wide revocation applies ("" for org tokens).
	AppID string
}

// Verifier verifies sessions for every surface: the login flow, the reverse proxy, the SaaS
// endpoints, the App Launcher and whatever comes next. It reads the store, the token verifier,
// the in-memory revocation sets and a clock; it never mints or sets cookies (the login flow
// does). Safe for concurrent use.
type Verifier struct {
	store       store.Store
	tokens      *token.Verifier
	keys        token.KeySet
	revocations *Revocations
	cache       *token.Cache
	now         func() time.Time
}

// VerifierOptions build a Verifier.
type VerifierOptions struct {
	Store store.Store
	// Tokens verifies Gatehouse's JWTs.
	Tokens *token.Verifier
	// Keys are the published verification keys: a cached token whose key has left them (its
	// overlap window ended) stops working even while cached.
	Keys        token.KeySet
	Revocations *Revocations
	// Now is the clock; default time.Now.
	Now func() time.Time
	// CacheSize bounds the verified-token cache of AppToken; default 100,000 tokens.
	CacheSize int
}

// NewVerifier returns a Verifier.
func NewVerifier(o VerifierOptions) *Verifier {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CacheSize == 0 {
		o.CacheSize = 100_000
	}
	if o.Revocations == nil {
		o.Revocations = &Revocations{}
	}
	return &Verifier{store: o.Store, tokens: o.Tokens, keys: o.Keys, revocations: o.Revocations,
		cache: token.NewCache(o.CacheSize), now: o.Now}
}

// Tokens returns the token verifier (hand-off codes and logout verify bare tokens with it).
func (v *Verifier) Tokens() *token.Verifier { return v.tokens }

// Revocations returns the revocation sets the Verifier checks.
func (v *Verifier) Revocations() *Revocations { return v.revocations }

// Purge drops cached token verifications (after a key change).
func (v *Verifier) Purge() { v.cache.Purge() }

// Verify verifies an org or app token for want, checks revocation, and loads its session and
// identity from the store. It always reads the store: the login flow, get-identity and the SaaS
// endpoints use it, where a request is a login step rather than a page view.
func (v *Verifier) Verify(ctx context.Context, raw string, want Want) (*Verified, error) {
	if raw == "" {
		return nil, ErrNoSession
	}
	claims, err := v.tokens.Verify(raw)
	if err != nil {
		return nil, &noSessionError{reason: TokenReason(err), cause: err}
	}
	switch {
	case claims.Type != want.Type:
		return nil, noSession(ReasonWrongTokenType)
	case !claims.HasAudience(want.Audience):
		return nil, noSession(ReasonAudienceMismatch)
	case claims.Subject == "" || claims.IdentityNonce == "":
		return nil, noSession(ReasonNoSubject)
	}
	if ok, reason := v.revocations.Check(claims.Subject, want.AppID, claims.IdentityNonce, time.Unix(claims.IssuedAt, 0)); !ok {
		return nil, noSession(reason)
	}
	sess, id, err := v.Load(ctx, claims.IdentityNonce)
	if err != nil {
		return nil, err
	}
	if sess.UserID != claims.Subject {
		return nil, noSession(ReasonSubjectMismatch)
	}
	return &Verified{Claims: claims, Session: sess, Identity: id}, nil
}

// AppToken verifies an app token for the application with audience tag aud and ID appID, for the
// request hot path: the token's signature and its session are checked once per replica and the
// result cached by the whole token; audience, key publication and revocation are checked again on
// every call. The returned identity is shared by every request presenting the same token: do not
// modify it.
func (v *Verifier) AppToken(ctx context.Context, raw, aud, appID string) (*token.Verified, *identity.Identity, error) {
	vt, ok := v.cache.Get(raw, v.now())
	if !ok {
		claims, kid, err := v.tokens.VerifyKID(raw)
		if err != nil {
			return nil, nil, &noSessionError{reason: TokenReason(err), cause: err}
		}
		switch {
		case claims.Type != "app":
			return nil, nil, noSession(ReasonWrongTokenType)
		case claims.Subject == "" || claims.IdentityNonce == "":
			return nil, nil, noSession(ReasonNoSubject)
		}
		_, ident, err := v.Load(ctx, claims.IdentityNonce)
		if err != nil {
			return nil, nil, err
		}
		if ident.UserID != claims.Subject {
			return nil, nil, noSession(ReasonSubjectMismatch)
		}
		vt = &token.Verified{Claims: claims, KID: kid, Extra: ident}
		v.cache.Put(raw, vt)
	}
	c := vt.Claims
	// The cache is keyed by the whole token; these inputs are re-checked on every request.
	if !c.HasAudience(aud) {
		return nil, nil, noSession(ReasonAudienceMismatch)
	}
	if _, ok := v.keys.PublicKey(vt.KID); !ok {
		return nil, nil, noSession(ReasonKeyRetired)
	}
	if ok, reason := v.revocations.Check(c.Subject, appID, c.IdentityNonce, time.Unix(c.IssuedAt, 0)); !ok {
		return nil, nil, noSession(reason)
	}
	return vt, vt.Extra.(*identity.Identity), nil
}

// TokenReason maps a token verification error to its kebab-case reason: token-expired,
// token-not-yet-valid, token-bad-signature, token-unknown-key, token-bad-algorithm,
// token-wrong-issuer, or token-malformed for anything else.
func TokenReason(err error) string {
	switch {
	case errors.Is(err, token.ErrExpired):
		return "token-expired"
	case errors.Is(err, token.ErrNotYetValid):
		return "token-not-yet-valid"
	case errors.Is(err, token.ErrSignature):
		return "token-bad-signature"
	case errors.Is(err, token.ErrUnknownKey):
		return "token-unknown-key"
	case errors.Is(err, token.ErrAlgorithm):
		return "token-bad-algorithm"
	case errors.Is(err, token.ErrIssuer):
		return "token-wrong-issuer"
	}
	return "token-malformed"
}

// Load returns an unrevoked, unexpired session and its identity. A store failure is returned as
// such (callers fail closed); a missing or revoked session is ErrNoSession.
func (v *Verifier) Load(ctx context.Context, id string) (*store.Session, *identity.Identity, error) {
	sess, err := v.store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, noSession(ReasonSessionNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load session: %w", err)
	}
	if !sess.RevokedAt.IsZero() {
		return nil, nil, noSession(ReasonSessionRevoked)
	}
	if !v.now().UTC().Before(sess.ExpiresAt) {
		return nil, nil, noSession(ReasonSessionExpired)
	}
	var ident identity.Identity
	if err := json.Unmarshal(sess.Identity, &ident); err != nil {
		return nil, nil, fmt.Errorf("decode session identity: %w", err)
	}
	user, err := v.store.GetUser(ctx, sess.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, noSession(ReasonUserNotFound)
	case err != nil:
		return nil, nil, fmt.Errorf("load session user: %w", err)
	case user.Status != "" && user.Status != store.UserActive:
		// Deactivation (e.g. SCIM deprovisioning) ends sessions even where a revocation has not
		// reached this replica yet.
		return nil, nil, noSession(ReasonUserInactive)
	}
	MergeSCIMGroups(&ident, user)
	return sess, &ident, nil
}

// MergeSCIMGroups adds the groups that SCIM provisioning by the identity's own IdP gives the
// user (store.User.SCIMGroups) to the identity's groups, so that group selectors see them. Groups
// provisioned by another IdP never apply: one IdP cannot grant groups to logins through another.
func MergeSCIMGroups(ident *identity.Identity, user *store.User) {
	for _, name := range user.SCIMGroups[ident.IdP.ID] {
		if !slices.ContainsFunc(ident.Groups, func(g identity.Group) bool { return g.Name == name || g.ID == name }) {
			ident.Groups = append(ident.Groups, identity.Group{ID: name, Name: name})
		}
	}
}
