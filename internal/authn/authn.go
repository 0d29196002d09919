// Package authn owns the login flow: the auth domain's login page and IdP picker, the e-mail PIN
// login, the org (global) session, the hand-off of a login to an app host through a single-use
// code, silent re-issue of app tokens from the org session, get-identity and global logout.
//
// The hand-off never puts a long-lived token in a URL: the auth domain stores the app token
// behind a random single-use code that expires in a minute, bound to a nonce cookie the app host
// set on the same browser before it was sent to log in.
package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/geoip"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/onetimepin"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Lifetimes of the login round trip.
const (
	FlowLifetime    = 15 * time.Minute
	HandoffLifetime = time.Minute
	appNonceMaxAge  = time.Hour
)

// Rate limits (per replica set, through the store). LoginFlowsPerIP bounds the login flows, and
// so the database rows, one client address can create by opening protected pages without a
// session; it is generous because a whole office may share one address.
var (
	PINSendsPerEmail = Limit{Window: 10 * time.Minute, Max: 5}
	PINSendsPerIP    = Limit{Window: 10 * time.Minute, Max: 20}
	PINVerifyPerIP   = Limit{Window: 10 * time.Minute, Max: 50}
	PINMaxAttempts   = 5
	LoginFlowsPerIP  = Limit{Window: time.Minute, Max: 300}
)

// Limit is a fixed-window rate limit.
type Limit struct {
	Window time.Duration
	Max    int
}

// Service serves the auth domain and the login endpoints on app hosts.
type Service struct {
	Store       store.Store
	Snapshots   *snapshot.Holder
	Keys        *keys.Manager
	Verifier    *token.Verifier
	Revocations *session.Revocations
	// PINSenders holds the sender of each onetimepin IdP by IdP ID.
	PINSenders func(idpID string) onetimepin.Sender
	// Home serves the auth domain root (the App Launcher); nil shows the sign-in status.
	Home http.Handler
	// SaaSSAML and SaaSOIDC serve SaaS applications' SSO endpoints (nil: not available).
	SaaSSAML, SaaSOIDC SaaSHandler
	// SCIM serves <prefix>scim/v2/... on the auth domain (nil: SCIM is not available).
	SCIM http.Handler
	// Connectors returns the connector of a redirect-based IdP by IdP ID (nil when none).
	Connectors     func(idpID string) identity.Connector
	Audit          *audit.Recorder
	Geo            *geoip.DB
	TrustedProxies []netip.Prefix
	Log            *slog.Logger
	Now            func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Client returns the real client IP (the socket peer unless it is a trusted proxy) and its
// country.
func (s *Service) Client(r *http.Request) (netip.Addr, string) {
	ip := httpx.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.TrustedProxies)
	return ip, s.Geo.Country(ip)
}

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashValue returns the hex SHA-256 of a labelled secret value.
func hashValue(label, v string) string {
	h := sha256.Sum256([]byte(label + "\x00" + v))
	return hex.EncodeToString(h[:])
}

// setCookie sets a host-only cookie on the current host.
func setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration, sameSite http.SameSite, httpOnly, secure bool) {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: httpOnly,
		Secure:   secure,
		SameSite: sameSite,
	}
	if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
		c.Expires = time.Now().Add(maxAge)
	} else if maxAge < 0 {
		c.MaxAge = -1
		c.Expires = time.Unix(1, 0)
	}
	if sameSite == http.SameSiteNoneMode {
		c.Secure = true
	}
	http.SetCookie(w, c)
}

// cookieValue returns the value of the named cookie, or "".
func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// OrgSession is a verified org session: the org token's claims, the stored session and the
// identity kept with it.
type OrgSession struct {
	Claims   *token.Claims
	Session  *store.Session
	Identity *identity.Identity
}

// ErrNoSession means the request carries no usable session; it is not a failure.
var ErrNoSession = errors.New("no valid session")

// VerifySessionToken verifies an org or app token for the given audience, checks revocation, and
// loads its session and identity from the store.
func (s *Service) VerifySessionToken(ctx context.Context, raw, wantType, audience, appID string) (*OrgSession, error) {
	if raw == "" {
		return nil, ErrNoSession
	}
	claims, err := s.Verifier.Verify(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSession, err)
	}
	if claims.Type != wantType || !claims.HasAudience(audience) || claims.Subject == "" || claims.IdentityNonce == "" {
		return nil, fmt.Errorf("%w: wrong token type or audience", ErrNoSession)
	}
	if ok, reason := s.Revocations.Check(claims.Subject, appID, claims.IdentityNonce, time.Unix(claims.IssuedAt, 0)); !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoSession, reason)
	}
	sess, id, err := s.LoadSession(ctx, claims.IdentityNonce)
	if err != nil {
		return nil, err
	}
	if sess.UserID != claims.Subject {
		return nil, fmt.Errorf("%w: session does not belong to the token subject", ErrNoSession)
	}
	return &OrgSession{Claims: claims, Session: sess, Identity: id}, nil
}

// LoadSession returns an unrevoked, unexpired session and its identity. A store failure is
// returned as such (callers fail closed); a missing or revoked session is ErrNoSession.
func (s *Service) LoadSession(ctx context.Context, id string) (*store.Session, *identity.Identity, error) {
	sess, err := s.Store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: session not found", ErrNoSession)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load session: %w", err)
	}
	if !sess.RevokedAt.IsZero() {
		return nil, nil, fmt.Errorf("%w: %s", ErrNoSession, session.ReasonSessionRevoked)
	}
	if !s.now().Before(sess.ExpiresAt) {
		return nil, nil, fmt.Errorf("%w: session expired", ErrNoSession)
	}
	var ident identity.Identity
	if err := json.Unmarshal(sess.Identity, &ident); err != nil {
		return nil, nil, fmt.Errorf("decode session identity: %w", err)
	}
	user, err := s.Store.GetUser(ctx, sess.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, fmt.Errorf("%w: user not found", ErrNoSession)
	case err != nil:
		return nil, nil, fmt.Errorf("load session user: %w", err)
	case user.Status != "" && user.Status != store.UserActive:
		// Deactivation (e.g. SCIM deprovisioning) ends sessions even where a revocation has not
		// reached this replica yet.
		return nil, nil, fmt.Errorf("%w: user-inactive", ErrNoSession)
	}
	mergeSCIMGroups(&ident, user)
	return sess, &ident, nil
}

// mergeSCIMGroups adds the groups that SCIM provisioning by the identity's own IdP gives the
// user (store.User.SCIMGroups) to the identity's groups, so that group selectors see them. Groups
// provisioned by another IdP never apply: one IdP cannot grant groups to logins through another.
func mergeSCIMGroups(ident *identity.Identity, user *store.User) {
	for _, name := range user.SCIMGroups[ident.IdP.ID] {
		if !slices.ContainsFunc(ident.Groups, func(g identity.Group) bool { return g.Name == name || g.ID == name }) {
			ident.Groups = append(ident.Groups, identity.Group{ID: name, Name: name})
		}
	}
}

// IsNoSession reports whether err only means "not logged in".
func IsNoSession(err error) bool { return errors.Is(err, ErrNoSession) }

// renderError renders an error page for the auth domain.
func (s *Service) renderError(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, err error) {
	org := ""
	if snap != nil {
		org = snap.Org.Name
	}
	web.RenderError(w, r, s.Log, org, err)
}

// WantsHTML reports whether a request is a browser navigation that may be redirected to a login
// page: not marked as AJAX, a GET or HEAD, and accepting HTML.
func WantsHTML(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest") {
		return false
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return false
	}
	return strings.Contains(accept, "text/html") || strings.Contains(accept, "*/*") && r.Header.Get("Sec-Fetch-Mode") == "navigate"
}
