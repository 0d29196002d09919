// Package store owns Gatehouse's domain types (configuration objects, users, sessions, login state,
// signing keys, revocations and auth events), the Store interface every backend implements, and its
// sentinel errors. The conformance suite in storetest pins the contract down; every backend runs it.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them; callers test with errors.Is.
var (
	// ErrNotFound: the object does not exist (or has expired, for time-limited objects).
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists: a create hit an existing key.
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrConflict: a compare-and-swap lost (the expected state no longer holds), or a single-use
	// object was already used.
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable: the backend cannot be reached or did not answer in time; callers fail closed.
	ErrUnavailable = errors.New("store: unavailable")
)

// Store is the persistence contract.
//
//   - Safe for concurrent use by many goroutines (and, for networked backends, many processes).
//   - All times are stored and returned in UTC, truncated to the microsecond.
//   - Every method is atomic. Updater funcs (UpdateConfig, UpdateUser) run inside the backend's
//     transaction and may be called more than once if the transaction is retried, so they must
//     not have side effects beyond mutating their argument. An updater returning an error aborts
//     the transaction and that error is returned unwrapped.
//   - Expired time-limited objects (login flows, codes, PIN challenges, pending SAML requests)
//     behave as ErrNotFound. "Now" is the backend's clock, injectable for tests.
//   - Watch delivers a notification after every committed change of configuration, revocations or
//     signing keys; notifications may be coalesced, so receivers re-read what they need.
type Store interface {
	// GetConfig returns the current configuration with its Version (0 when nothing was stored).
	GetConfig(ctx context.Context) (*Config, error)
	// UpdateConfig runs update on the current configuration inside a transaction, stores the result
	// with Version+1, and returns it. Applications without an AUD get a fresh random one; an
	// application keeps its AUD across updates while its ID is unchanged.
	UpdateConfig(ctx context.Context, update func(*Config) error) (*Config, error)

	// Users are keyed by the normal form of their e-mail address (package mailaddr), compared byte
	// for byte; the methods below that take an address normalise it and refuse one without a
	// normal form with its *mailaddr.Error (never ErrNotFound, never another user).

	// UpsertUserByEmail returns the user with this e-mail (normalised), creating it with a new
	// random UUID if absent, records the login's identity as last seen, and adds seen.IdPID (when
	// set) to the user's IdPIDs.
	UpsertUserByEmail(ctx context.Context, email string, seen LastSeen) (*User, error)
	// CreateUser stores a new user with a new random UUID (u.ID is set) and the given e-mail
	// (normalised; u.Email is set to the normal form), name, status, IdPIDs and SCIM groups; other
	// fields start empty. ErrAlreadyExists when a user has the e-mail.
	CreateUser(ctx context.Context, u *User) error
	// GetUserByEmail returns the user with this e-mail (normalised).
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	// GetUser returns a user by ID.
	GetUser(ctx context.Context, id string) (*User, error)
	// UpdateUser runs update on the user inside a transaction. A changed e-mail is stored in its
	// normal form (refused without one); an unchanged one is kept as stored.
	UpdateUser(ctx context.Context, id string, update func(*User) error) (*User, error)
	// ListUsers returns users ordered by e-mail.
	ListUsers(ctx context.Context) ([]User, error)

	// CreateSession stores a new org session. ErrAlreadyExists if the ID is taken.
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns a session by ID, revoked or not, until it expires.
	GetSession(ctx context.Context, id string) (*Session, error)
	// ListUserSessions returns the user's unexpired sessions, newest first.
	ListUserSessions(ctx context.Context, userID string) ([]Session, error)
	// RevokeSession marks one session revoked (idempotent) and notifies watchers.
	RevokeSession(ctx context.Context, id string) error
	// RevokeUserSessions sets the user's not-before to now, marks all their sessions revoked,
	// deletes their grants at upstream MCP servers (MCPUpstreamAuth, where the backend has it),
	// and notifies watchers.
	RevokeUserSessions(ctx context.Context, userID string) error
	// RevokeAppTokens sets the application's not-before to now and notifies watchers.
	RevokeAppTokens(ctx context.Context, appID string) error
	// Revocations returns every unexpired revocation: user and app not-before times and the IDs of
	// revoked, unexpired sessions.
	Revocations(ctx context.Context) (*Revocations, error)

	// CreateLoginFlow stores the state of a login in progress (IdP round trip).
	CreateLoginFlow(ctx context.Context, f *LoginFlow) error
	// GetLoginFlow returns an unexpired login flow.
	GetLoginFlow(ctx context.Context, id string) (*LoginFlow, error)
	// DeleteLoginFlow removes a login flow; ErrNotFound if absent.
	DeleteLoginFlow(ctx context.Context, id string) error

	// CreateHandoffCode stores a single-use code (by its hash) that moves a login to an app host.
	CreateHandoffCode(ctx context.Context, c *HandoffCode) error
	// ConsumeHandoffCode atomically marks the code used and returns it. ErrNotFound when unknown
	// or expired; ErrConflict when already used.
	ConsumeHandoffCode(ctx context.Context, codeHash string) (*HandoffCode, error)

	// CreatePINChallenge stores a PIN challenge.
	CreatePINChallenge(ctx context.Context, c *PINChallenge) error
	// AttemptPINChallenge atomically increments the challenge's attempt count, then calls check
	// with the updated challenge; when check returns true the challenge is marked used. It returns
	// the challenge and whether it was consumed. ErrNotFound when unknown or expired; ErrConflict
	// when already used or when Attempts had already reached maxAttempts (no further checks).
	AttemptPINChallenge(ctx context.Context, id string, maxAttempts int, check func(*PINChallenge) bool) (*PINChallenge, bool, error)

	// CreatePendingSAMLRequest stores an SP-initiated SAML request while its user signs in; a
	// zero CreatedAt means now. ErrAlreadyExists if the ID is taken.
	CreatePendingSAMLRequest(ctx context.Context, p *PendingSAMLRequest) error
	// ConsumePendingSAMLRequest atomically marks the request used and returns it. ErrNotFound
	// when unknown or expired; ErrConflict when already used.
	ConsumePendingSAMLRequest(ctx context.Context, id string) (*PendingSAMLRequest, error)

	// HitRateLimit counts one event for key in the fixed window of length window containing now,
	// and reports whether the count is still within limit. Counts are shared by every replica.
	HitRateLimit(ctx context.Context, key string, window time.Duration, limit int) (bool, error)

	// RememberOnce records key until expires and reports whether it was new: false when the key
	// is already recorded and unexpired (a replay). Used for SAML assertion IDs and other
	// one-time values that every replica must agree on.
	RememberOnce(ctx context.Context, key string, expires time.Time) (bool, error)

	// SigningKeys returns all keys of every use not yet past their RetireAt, newest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// RotateSigningKey makes next the current key of next.Use if that use's current key's ID is
	// still expectedCurrent ("" when there is no key of that use yet); the old current key gets
	// RetireAt = now + overlap. Keys of other uses are untouched. ErrConflict when another
	// rotation won.
	RotateSigningKey(ctx context.Context, expectedCurrent string, next *SigningKey, overlap time.Duration) error

	// AppendAuthEvent persists an authentication event.
	AppendAuthEvent(ctx context.Context, e *AuthEvent) error
	// ListAuthEvents returns events matching q, newest first.
	ListAuthEvents(ctx context.Context, q AuthEventQuery) ([]AuthEvent, error)

	// OIDC provider of SaaS apps (package saas/oidcop): authorization codes, token grants and
	// refresh tokens. Codes and refresh tokens are stored by the hash of their value only. A
	// grant (token family) holds what every token issued from one code shares; revoking it
	// invalidates them all. Callbacks (redeem, update) run inside the transaction, may run more
	// than once, must not call the store, and abort the call with their error returned unwrapped.

	// CreateOIDCCode stores an authorization code; a zero CreatedAt means now. ErrAlreadyExists
	// if the hash is taken.
	CreateOIDCCode(ctx context.Context, c *OIDCCode) error
	// RedeemOIDCCode uses an authorization code once, atomically. It calls redeem with the
	// unused, unexpired code; when redeem fails the code stays unused. Otherwise the code is
	// marked used and the grant redeem returns (whose ID must be the code's GrantID; a zero
	// CreatedAt means now) is created together with its first refresh token when that is not
	// nil (whose GrantID must be the grant's ID). It returns the used code and the stored grant.
	// ErrNotFound when the code is unknown or expired and unused. ErrConflict when the code was
	// already used: the grant issued from it is then revoked (reason OIDCRevokedCodeReplayed)
	// in the same transaction, so that every token issued from the code stops working. Used
	// codes are remembered for at least an hour past their ExpiresAt.
	RedeemOIDCCode(ctx context.Context, codeHash string, redeem func(*OIDCCode) (*OIDCGrant, *OIDCRefreshToken, error)) (*OIDCCode, *OIDCGrant, error)
	// GetOIDCGrant returns an unexpired grant, revoked or not.
	GetOIDCGrant(ctx context.Context, id string) (*OIDCGrant, error)
	// RevokeOIDCGrant marks an unexpired grant revoked; revoking it again changes nothing (the
	// first reason stays). ErrNotFound when the grant is unknown or expired.
	RevokeOIDCGrant(ctx context.Context, id, reason string) error
	// GetOIDCRefreshToken returns an unexpired refresh token, rotated or not, and its unexpired
	// grant, revoked or not. ErrNotFound otherwise.
	GetOIDCRefreshToken(ctx context.Context, tokenHash string) (*OIDCRefreshToken, *OIDCGrant, error)
	// RotateOIDCRefreshToken replaces refresh token r.OldHash by r.Next, atomically: old is marked
	// used and remembers its successor (r.Next's hash and r.SealedNext), r.Next is stored (its
	// GrantID must be old's; a zero CreatedAt means now), and r.Update runs on the grant, whose
	// changed Identity and ExpiresAt are stored (other fields are fixed). It returns the updated
	// grant. ErrNotFound when old or its grant is unknown or expired. ErrConflict when the grant
	// is revoked. ErrAlreadyExists when r.Next's hash is taken.
	//
	// Presenting old again after it was used is a reuse. It is forgiven, as a concurrent or
	// retried refresh, when all of these hold: r.ReuseGrace > 0, less than r.ReuseGrace has
	// passed since old's UsedAt, old has a SealedSuccessor, and that successor is unexpired and
	// not used itself. Then r.Update runs and the grant is stored as above, but r.Next is not
	// stored and old keeps its UsedAt and successor (the window never moves); the result has
	// Reused set and carries old's SealedSuccessor, the token to hand out again. Any other reuse
	// revokes the grant (reason OIDCRevokedRefreshReused) in the same transaction and returns
	// ErrConflict, so that with no grace a concurrent rotation of one token has exactly one
	// winner whose new token is revoked too.
	RotateOIDCRefreshToken(ctx context.Context, r *OIDCRefreshRotation) (*OIDCRefreshRotated, error)

	// SCIM provisioning (package scim). Every SCIM resource belongs to one identity provider:
	// lookups, updates and deletes take the IdP ID and treat a resource of another IdP as
	// ErrNotFound. Creates set ID-independent bookkeeping: Version 1 and CreatedAt = UpdatedAt =
	// now; updates keep ID, IdPID and CreatedAt, add 1 to Version and set UpdatedAt = now.
	// Updaters run inside the transaction (see above). Lists are ordered by creation time, then
	// ID, and return the total number of matches besides the requested page.
	//
	// Registry effects. A SCIM write that takes a SCIMEffect (nil: none) runs it, inside the
	// write's transaction and after the write, on every registry user linked (RegistryUserID,
	// the user existing) to a SCIM user the write affects: the updated or deleted user itself,
	// and for group writes the users whose membership the write changes (every member of a
	// created or deleted group, the symmetric difference of an update). What the effect does
	// to the registry user and its sessions commits with the write or not at all, so a failed
	// write leaves nothing half done for the IdP's retry (see SCIMRegistryChange). The write
	// returns the committed changes, in SCIM user ID order. An effect's error aborts the write
	// and is returned unwrapped.

	// SetSCIMSecret stores (creating or replacing) the SHA-256 of an IdP's SCIM bearer secret.
	SetSCIMSecret(ctx context.Context, idpID, hash string) error
	// GetSCIMSecret returns an IdP's SCIM secret hash; ErrNotFound when none was set.
	GetSCIMSecret(ctx context.Context, idpID string) (*SCIMSecret, error)
	// CreateSCIMUser stores a new SCIM user (u.ID set by the caller). ErrAlreadyExists when the
	// ID is taken or the IdP has a user with the same UserName (case-insensitively).
	CreateSCIMUser(ctx context.Context, u *SCIMUser) error
	// GetSCIMUser returns one of the IdP's SCIM users.
	GetSCIMUser(ctx context.Context, idpID, id string) (*SCIMUser, error)
	// UpdateSCIMUser runs update on the SCIM user and stores it, then effect on its linked
	// registry user (as linked after the update). ErrAlreadyExists when the new UserName is
	// taken within the IdP.
	UpdateSCIMUser(ctx context.Context, idpID, id string, update func(*SCIMUser) error, effect SCIMEffect) (*SCIMUser, []SCIMRegistryChange, error)
	// DeleteSCIMUser runs check on the SCIM user (an error aborts), deletes it and its group
	// memberships, then runs effect on its linked registry user. It returns the deleted user.
	DeleteSCIMUser(ctx context.Context, idpID, id string, check func(*SCIMUser) error, effect SCIMEffect) (*SCIMUser, []SCIMRegistryChange, error)
	// ListSCIMUsers returns a page of the IdP's SCIM users matching q and the total count.
	ListSCIMUsers(ctx context.Context, q SCIMQuery) ([]SCIMUser, int, error)
	// CreateSCIMGroup stores a new SCIM group with its members, then runs effect for every
	// member. ErrAlreadyExists when the ID is taken; ErrNotFound (wrapped) when a member is not
	// a SCIM user of the same IdP.
	CreateSCIMGroup(ctx context.Context, g *SCIMGroup, effect SCIMEffect) ([]SCIMRegistryChange, error)
	// GetSCIMGroup returns one of the IdP's SCIM groups with its members.
	GetSCIMGroup(ctx context.Context, idpID, id string) (*SCIMGroup, error)
	// UpdateSCIMGroup runs update on the group and stores it, members included (ErrNotFound,
	// wrapped, when a member is not a SCIM user of the IdP), then runs effect for every user
	// that joined or left.
	UpdateSCIMGroup(ctx context.Context, idpID, id string, update func(*SCIMGroup) error, effect SCIMEffect) (*SCIMGroup, []SCIMRegistryChange, error)
	// DeleteSCIMGroup runs check on the group (an error aborts), deletes it and its
	// memberships, then runs effect for every former member. It returns the deleted group.
	DeleteSCIMGroup(ctx context.Context, idpID, id string, check func(*SCIMGroup) error, effect SCIMEffect) (*SCIMGroup, []SCIMRegistryChange, error)
	// ListSCIMGroups returns a page of the IdP's SCIM groups matching q (with members) and the
	// total count.
	ListSCIMGroups(ctx context.Context, q SCIMQuery) ([]SCIMGroup, int, error)
	// SCIMGroupsOfUser returns the IdP's groups that have the SCIM user as a member, without
	// their member lists.
	SCIMGroupsOfUser(ctx context.Context, idpID, userID string) ([]SCIMGroup, error)

	// Watch returns a channel that receives a value after each committed change relevant to
	// snapshots (config, revocations, keys). It is closed when ctx ends.
	Watch(ctx context.Context) <-chan Change

	// Ping checks that the backend is reachable.
	Ping(ctx context.Context) error
	// Close releases resources.
	Close() error
}

// Change says what kind of state changed.
type Change struct {
	Config      bool
	Revocations bool
	Keys        bool
}

// User status values.
const (
	UserActive   = "active"
	UserInactive = "inactive"
)

// User is one person, whichever IdPs they log in with.
type User struct {
	ID string `json:"id"` // stable UUID, the JWT `sub`
	// Email is the user's address in normal form (package mailaddr); unique.
	Email     string    `json:"email"`
	Name      string    `json:"name,omitempty"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// TokensNotBefore rejects every token of the user issued before it.
	TokensNotBefore time.Time `json:"tokens_not_before,omitzero"`
	LastSeen        LastSeen  `json:"last_seen"`
	// IdPIDs are the identity providers linked to the user, in linking order: those the user
	// logged in through (UpsertUserByEmail adds them) and the one whose SCIM provisioning
	// created the user (CreateUser).
	IdPIDs []string `json:"idp_ids,omitempty"`
	// SCIMGroups are the group names each identity provider's SCIM provisioning gives the user
	// (IdP ID -> names), merged into the identity of logins through that IdP only.
	SCIMGroups map[string][]string `json:"scim_groups,omitempty"`
}

// LastSeen is the identity recorded at the user's last successful login.
type LastSeen struct {
	At       time.Time `json:"at,omitzero"`
	IdPID    string    `json:"idp_id,omitempty"`
	IdPType  string    `json:"idp_type,omitempty"`
	IP       string    `json:"ip,omitempty"`
	Country  string    `json:"country,omitempty"`
	Identity []byte    `json:"identity,omitempty"` // JSON of identity.Identity
}

// Session is a global (org) session created at login; its ID is the JWT identity_nonce.
type Session struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	IdPID     string    `json:"idp_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	IP        string    `json:"ip,omitempty"`
	Country   string    `json:"country,omitempty"`
	// Identity is the JSON of the identity.Identity the IdP returned, kept server-side for
	// policy evaluation and get-identity.
	Identity []byte `json:"identity"`
}

// Revocations is the in-memory revocation state a replica checks on every request.
type Revocations struct {
	UserNotBefore   map[string]time.Time // user ID -> not-before
	AppNotBefore    map[string]time.Time // app ID -> not-before
	RevokedSessions map[string]time.Time // session ID -> session expiry
}

// LoginFlow is a login in progress, created when a user is sent to an IdP.
type LoginFlow struct {
	ID          string    `json:"id"`
	AppID       string    `json:"app_id,omitempty"`
	RedirectURL string    `json:"redirect_url,omitempty"`
	IdPID       string    `json:"idp_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	// BrowserBinding is the hash of a cookie value held by the browser that started the flow.
	BrowserBinding string `json:"browser_binding,omitempty"`
	// Data is connector-specific state (nonce, PKCE verifier, PIN challenge ID).
	Data map[string]string `json:"data,omitempty"`
}

// HandoffCode moves an authenticated login from the auth domain to an app host.
type HandoffCode struct {
	CodeHash    string `json:"code_hash"`
	SessionID   string `json:"session_id"`
	AppID       string `json:"app_id"`
	Host        string `json:"host"`
	RedirectURL string `json:"redirect_url"`
	// BrowserBinding is the hash of the nonce cookie the app host set on the browser before
	// sending it to log in; the code is only accepted from that browser.
	BrowserBinding string `json:"browser_binding"`
	// Token is the app JWT the app host sets as its cookie.
	Token     string    `json:"token"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	UsedAt    time.Time `json:"used_at,omitzero"`
}

// PINChallenge is one e-mailed one-time PIN.
type PINChallenge struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	PINHash   string    `json:"pin_hash"`
	Attempts  int       `json:"attempts"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	UsedAt    time.Time `json:"used_at,omitzero"`
}

// Key uses besides "" (Gatehouse's tokens): SigningKeyUseSaaSSAML signs SAML assertions for
// SaaS apps; SigningKeyUseSAMLEncryption decrypts assertions that SAML identity providers
// encrypt to Gatehouse (it never signs); SigningKeyUseSAMLSP signs AuthnRequests.
const (
	SigningKeyUseSaaSSAML       = "saas-saml"
	SigningKeyUseSAMLEncryption = "saml-encryption"
	// SigningKeyUseSAMLSP signs Gatehouse's AuthnRequests to SAML identity providers with
	// sign_request; they usually pin its certificate.
	SigningKeyUseSAMLSP = "saml-sp"
)

// SigningKey is an RSA signing key; the private key is encrypted under the master key by package
// keys before it reaches the store.
type SigningKey struct {
	ID string `json:"id"` // kid
	// Use separates independent key sets, each with one current key: "" for Gatehouse's
	// tokens, SigningKeyUseSaaSSAML for SaaS SAML assertions.
	Use                 string    `json:"use,omitempty"`
	Algorithm           string    `json:"alg"`
	PrivateKeyEncrypted []byte    `json:"private_key_encrypted"`
	CertificatePEM      string    `json:"certificate_pem"`
	CreatedAt           time.Time `json:"created_at"`
	// RetireAt is zero for the current key; set when it is rotated out.
	RetireAt time.Time `json:"retire_at,omitzero"`
}

// AuthEvent is one login, logout or access decision worth keeping.
type AuthEvent struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Action    string    `json:"action"` // login | logout | pin_sent | service_token
	Allowed   bool      `json:"allowed"`
	UserID    string    `json:"user_id,omitempty"`
	Email     string    `json:"email,omitempty"`
	AppID     string    `json:"app_id,omitempty"`
	AppDomain string    `json:"app_domain,omitempty"`
	IdPID     string    `json:"idp_id,omitempty"`
	IdPType   string    `json:"idp_type,omitempty"`
	IP        string    `json:"ip,omitempty"`
	Country   string    `json:"country,omitempty"`
	PolicyID  string    `json:"policy_id,omitempty"`
	Reasons   []string  `json:"reasons,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
}

// AuthEventQuery filters ListAuthEvents. Zero fields do not filter.
type AuthEventQuery struct {
	Since, Until time.Time
	UserID       string
	Email        string
	AppID        string
	Limit        int // default 100, at most 1000
}

// OIDCCode is an authorization code of an OIDC SaaS application, bound to everything the token
// request must match. Only the SHA-256 of the code is stored.
type OIDCCode struct {
	CodeHash string `json:"code_hash"`
	// GrantID is the ID of the grant (token family) the code is redeemed into.
	GrantID     string `json:"grant_id"`
	AppID       string `json:"app_id"`
	ClientID    string `json:"client_id"`
	RedirectURI string `json:"redirect_uri"`
	// CodeChallenge is the PKCE S256 challenge; "" when the request had none.
	CodeChallenge string   `json:"code_challenge,omitempty"`
	Nonce         string   `json:"nonce,omitempty"`
	Scopes        []string `json:"scopes"`
	UserID        string   `json:"user_id"`
	SessionID     string   `json:"session_id"`
	// AuthTime is when the user authenticated (the org session's start).
	AuthTime time.Time `json:"auth_time"`
	// Identity is the JSON of the identity.Identity the tokens describe.
	Identity  []byte    `json:"identity"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	UsedAt    time.Time `json:"used_at,omitzero"`
}

// Reasons an OIDC grant was revoked by the store itself.
const (
	OIDCRevokedCodeReplayed  = "code-replayed"
	OIDCRevokedRefreshReused = "refresh-reused"
)

// OIDCGrant is a token family: what every access, ID and refresh token issued from one
// authorization code shares. Revoking it invalidates them all.
type OIDCGrant struct {
	ID        string   `json:"id"`
	AppID     string   `json:"app_id"`
	ClientID  string   `json:"client_id"`
	UserID    string   `json:"user_id"`
	SessionID string   `json:"session_id"`
	Scopes    []string `json:"scopes"`
	// PublicClient is set when the code was redeemed without client authentication (PKCE only).
	PublicClient bool      `json:"public_client,omitempty"`
	AuthTime     time.Time `json:"auth_time"`
	// Identity is the JSON of the identity.Identity of the latest issue (refreshed by policy
	// re-checks).
	Identity  []byte    `json:"identity"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the grant's last token expires; the grant is forgotten after it.
	ExpiresAt    time.Time `json:"expires_at"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokeReason string    `json:"revoke_reason,omitempty"`
}

// OIDCRefreshToken is one refresh token of a grant. Only the SHA-256 of the token is stored.
type OIDCRefreshToken struct {
	TokenHash string    `json:"token_hash"`
	GrantID   string    `json:"grant_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// UsedAt is when the token was rotated; a used token presented again is a reuse.
	UsedAt time.Time `json:"used_at,omitzero"`
	// SuccessorHash is the hash of the token that replaced this one at its rotation.
	SuccessorHash string `json:"successor_hash,omitempty"`
	// SealedSuccessor is that token's value, sealed by the token endpoint under a key derived
	// from this token's value (which is never stored), so that only a holder of this token can
	// receive the successor again within the reuse grace period.
	SealedSuccessor []byte `json:"sealed_successor,omitempty"`
}

// OIDCRefreshRotation asks RotateOIDCRefreshToken to replace one refresh token.
type OIDCRefreshRotation struct {
	// OldHash is the hash of the presented refresh token.
	OldHash string
	// Next is the new refresh token.
	Next *OIDCRefreshToken
	// SealedNext is Next's value sealed for holders of the old token; it becomes old's
	// SealedSuccessor.
	SealedNext []byte
	// ReuseGrace is how long after old's rotation presenting old again is forgiven (0: never).
	ReuseGrace time.Duration
	// Update runs on the grant inside the transaction (see the OIDC callback rules above).
	Update func(*OIDCGrant) error
}

// OIDCRefreshRotated is the outcome of RotateOIDCRefreshToken.
type OIDCRefreshRotated struct {
	// Grant is the updated grant.
	Grant *OIDCGrant
	// Reused is set when old had been rotated less than ReuseGrace ago: Next was not stored, and
	// the refresh token to hand out is old's successor, SealedSuccessor.
	Reused          bool
	SealedSuccessor []byte
}
