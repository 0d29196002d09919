// Package authn owns the login flow: the auth domain's login page and IdP picker, the e-mail PIN
// login, the org (global) session, the hand-off of a login to an app host through a single-use
// code, silent re-issue of app tokens from the org session, get-identity and global logout.
//
// The hand-off never puts a long-lived token in a URL: the auth domain stores the app token
// behind a random single-use code that expires in a minute, bound to a nonce cookie the app host
// set on the same browser before it was sent to log in.
package authn

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
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

// Service is the login flow: it serves the login endpoints on the auth domain (mounted by the
// composition root beside the launcher, SaaS, SCIM and admin surfaces) and the reserved endpoints
// on app hosts (through the proxy), and gives the SaaS endpoints and the launcher their login step
// (Authorize). Identity connectors and PIN senders come from the published snapshot, so a request
// sees the connectors of the configuration version whose policies it is checked against.
type Service struct {
	Store     store.Store
	Snapshots *snapshot.Holder
	// Keys mint org and app tokens.
	Keys *keys.Manager
	// Sessions verifies the session behind a cookie.
	Sessions *session.Verifier
	Audit    *audit.Recorder
	Log      *slog.Logger
	Now      func() time.Time
	// NewPIN generates one-time PINs; default onetimepin.GeneratePIN.
	NewPIN func() (string, error)
	// DemoHint, set only by `gatehouse demo`, is shown on the PIN e-mail page (who receives a
	// PIN), and a PIN request for an address no policy admits is then logged. Outside the demo
	// it is empty: the page must not tell whether an address may sign in.
	DemoHint string

	refusals refusalBudget
}

// refusalEventsPerIP bounds the credential refusals one client address can put in the auth log
// per minute on one replica: refused cookies are client-controlled, the access log keeps all.
const refusalEventsPerIP = 30

// refusalBudget counts auth-log refusal events per client address in fixed one-minute windows.
// The zero value is ready; safe for concurrent use.
type refusalBudget struct {
	mu     sync.Mutex
	window time.Time
	counts map[netip.Addr]int
}

// allow reports whether another event for ip fits this minute's budget.
func (b *refusalBudget) allow(ip netip.Addr, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w := now.Truncate(time.Minute); !w.Equal(b.window) || b.counts == nil || len(b.counts) > 100_000 {
		b.window, b.counts = w, map[netip.Addr]int{}
	}
	b.counts[ip]++
	return b.counts[ip] <= refusalEventsPerIP
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
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
func setCookie(w http.ResponseWriter, now time.Time, name, value string, maxAge time.Duration, sameSite http.SameSite, httpOnly, secure bool) {
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
		c.Expires = now.Add(maxAge)
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

// fail renders err with the one error adapter: its public message and a reference ID, the
// private cause logged under that reference.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, err error) {
	var brand web.Brand
	if snap != nil {
		brand = web.BrandOf(&snap.Org)
	}
	web.RenderBrandedError(w, r, s.Log, brand, err)
}

// handle runs a browser handler that returns an error and renders that error, if any.
func (s *Service) handle(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, h func() error) {
	if err := h(); err != nil {
		s.fail(w, r, snap, err)
	}
}

// errUnavailable is the error of a login step whose store access failed.
func errUnavailable(cause error) error {
	return httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "Sign-in is temporarily unavailable. Try again shortly.", cause)
}

// orgSession returns the org session behind the request's org cookie. A browser that sends the
// org cookie more than once has a cookie planted by another host beside (or instead of) its own
// — possible only where the __Host- prefix is not (plain HTTP) — and no session is adopted from
// it: the user logs in again instead of being signed in as whoever planted it.
func (s *Service) orgSession(r *http.Request, snap *snapshot.Snapshot) (*session.Verified, error) {
	name := snap.OrgCookie()
	if len(r.CookiesNamed(name)) > 1 {
		s.Log.WarnContext(r.Context(), "the org session cookie was sent twice (cookie tossing?): no session adopted", "cookie", name)
		return nil, fmt.Errorf("%w: duplicate org session cookie", session.ErrNoSession)
	}
	return s.Sessions.Verify(r.Context(), cookieValue(r, name), session.Want{Type: "org", Audience: snap.OrgAudience()})
}
