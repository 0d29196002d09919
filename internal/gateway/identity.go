package gateway

import (
	"context"
	"encoding/base64"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Identity is who a gateway request comes from: a user on an enrolled device, or a machine with
// a service token, and where from. Rules (package gateway/rules, to come) match on it.
type Identity struct {
	// ServiceTokenID and ClientID are set when a service token authenticated the request.
	ServiceTokenID string
	ClientID       string
	// UserID, Email and Groups (names) are set when a user's device credentials authenticated
	// it; Name, IdP (the identity provider of the user's last login), GroupIDs, GroupEmails and
	// SAMLAttributes come from the user's last-seen identity, when it has them.
	UserID         string
	Email          string
	Groups         []string
	Name           string
	IdP            string
	GroupIDs       []string
	GroupEmails    []string
	SAMLAttributes map[string][]string
	// DeviceID is the enrolled device whose credentials were presented.
	DeviceID string
	// ClientIP is the address the connection came from, and Location the name of the
	// gateway.locations entry it is in ("" when none).
	ClientIP netip.Addr
	Location string
}

// DeviceVerifier checks per-device proxy credentials (the username and password of
// Proxy-Authorization: Basic). Device enrolment provides it; without one only service tokens
// authenticate. It returns the identity (with UserID, Email, Groups and DeviceID set), or nil
// and a kebab-case reason ("device-unknown", "device-revoked", ...); an error means the check
// could not be made (store unavailable) and fails closed.
type DeviceVerifier interface {
	VerifyDevice(ctx context.Context, username, password string) (*Identity, string, error)
}

// RateLimiter counts events in fixed windows (store.Store implements it).
type RateLimiter interface {
	HitRateLimit(ctx context.Context, key string, window time.Duration, limit int) (bool, error)
}

// Reasons a request is refused before it is authenticated.
const (
	ReasonCredentialsMissing   = "proxy-credentials-missing"
	ReasonCredentialsMalformed = "proxy-credentials-malformed"
	ReasonCredentialsInvalid   = "proxy-credentials-invalid"
	ReasonAuthUnavailable      = "proxy-auth-unavailable"
)

// basicCredentials parses the Proxy-Authorization: Basic field (its values, of which there must
// be at most one: two parsers could pick different ones).
func basicCredentials(values []string) (user, pass string, reason string) {
	switch {
	case len(values) == 0 || len(values) == 1 && values[0] == "":
		return "", "", ReasonCredentialsMissing
	case len(values) > 1:
		return "", "", ReasonCredentialsMalformed
	}
	header := values[0]
	scheme, value, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", ReasonCredentialsMalformed
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		return "", "", ReasonCredentialsMalformed
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return "", "", ReasonCredentialsMalformed
	}
	return user, pass, ""
}

// authenticate returns the identity behind a Proxy-Authorization value, or nil and the reason;
// err is set only when the check could not be made.
func (g *Gateway) authenticate(ctx context.Context, snap *snapshot.Snapshot, header []string) (*Identity, string, error) {
	user, pass, reason := basicCredentials(header)
	if reason != "" {
		return nil, reason, nil
	}
	if _, isToken := snap.ServiceTokens[user]; isToken || g.devices == nil {
		st := session.CheckServiceToken(snap.ServiceTokens, user, pass, g.now())
		if !st.Valid {
			r := st.Reason
			if r == "" {
				r = session.ReasonServiceTokenInvalid
			}
			return nil, r, nil
		}
		return &Identity{ServiceTokenID: st.ID, ClientID: user}, "", nil
	}
	id, reason, err := g.devices.VerifyDevice(ctx, user, pass)
	if err != nil {
		return nil, ReasonAuthUnavailable, err
	}
	if id == nil {
		if reason == "" {
			reason = ReasonCredentialsInvalid
		}
		return nil, reason, nil
	}
	return id, "", nil
}

// Location is a named set of source networks (gateway.locations).
type Location struct {
	Name     string
	Networks []netip.Prefix
}

// locationTable finds the location of a client address: the one with the most specific
// network containing it.
type locationTable []locationEntry

type locationEntry struct {
	p    netip.Prefix
	name string
}

func newLocationTable(locs []Location) locationTable {
	var t locationTable
	for _, l := range locs {
		for _, p := range l.Networks {
			t = append(t, locationEntry{p.Masked(), l.Name})
		}
	}
	slices.SortStableFunc(t, func(a, b locationEntry) int { return b.p.Bits() - a.p.Bits() })
	return t
}

func (t locationTable) lookup(ip netip.Addr) string {
	ip = ip.Unmap()
	for _, e := range t {
		if e.p.Contains(ip) {
			return e.name
		}
	}
	return ""
}

// auditAuthFailure records a refused credential (an auth event), at most failedAuthPerMinute
// per client address; it reports false when the address is over that budget (the request is
// then answered 429 without a record, so that clients cannot fill the audit log).
func (g *Gateway) auditAuthFailure(ctx context.Context, ip netip.Addr, reason string) bool {
	if g.limiter != nil {
		allowed, err := g.limiter.HitRateLimit(ctx, "gateway-auth-fail:"+ip.String(), time.Minute, failedAuthPerMinute)
		if err == nil && !allowed {
			return false
		}
	}
	if g.audit != nil {
		// The username is not recorded: it may be a secret typed into the wrong field.
		g.audit.Auth(ctx, &store.AuthEvent{Action: "gateway_auth", Allowed: false, IP: ip.String(), Reasons: []string{reason}})
	}
	return true
}

// failedAuthPerMinute bounds the refused credentials audited per client address and minute.
const failedAuthPerMinute = 30
