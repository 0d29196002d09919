package oidcop

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// serveUserinfo answers the claims of a valid access token's grant for the token's scopes. The
// token must be one of this app's, and its grant must be neither revoked nor expired, nor the
// user's, app's or session's tokens revoked since.
func (p *Provider) serveUserinfo(w http.ResponseWriter, r *http.Request, ep *endpoint) {
	challenge := func(status int, code, description string) {
		v := `Bearer realm="` + ep.issuer + `"`
		if code != "" {
			v += `, error="` + code + `", error_description="` + description + `"`
		}
		w.Header().Set("WWW-Authenticate", v)
		writeJSON(w, status, map[string]string{"error": code, "error_description": description}, "no-store")
	}
	scheme, raw, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		// RFC 6750 §3.1: no error code when the request has no token.
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+ep.issuer+`"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "a Bearer access token is required"}, "no-store")
		return
	}
	c, err := p.verifyAccessToken(strings.TrimSpace(raw), ep.issuer, ep.cfg.ClientID)
	if err != nil {
		challenge(http.StatusUnauthorized, "invalid_token", "the access token is invalid or expired")
		return
	}
	ctx := r.Context()
	g, err := p.env.Store.GetOIDCGrant(ctx, c.GrantID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		challenge(http.StatusUnauthorized, "invalid_token", "the access token is invalid or expired")
		return
	case err != nil:
		p.log.LogAttrs(ctx, slog.LevelError, "userinfo: read grant", slog.String("app", ep.app.ID), slog.Any("err", err))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"}, "no-store")
		return
	case !g.RevokedAt.IsZero() || g.UserID != c.Subject || g.AppID != ep.app.ID || g.ClientID != c.ClientID:
		challenge(http.StatusUnauthorized, "invalid_token", "the access token was revoked")
		return
	}
	reason, err := p.grantRevoked(ctx, g)
	if err != nil {
		p.log.LogAttrs(ctx, slog.LevelError, "userinfo: read revocations", slog.String("app", ep.app.ID), slog.Any("err", err))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"}, "no-store")
		return
	}
	if reason != "" {
		challenge(http.StatusUnauthorized, "invalid_token", "the access token was revoked")
		return
	}
	var ident identity.Identity
	if err := json.Unmarshal(g.Identity, &ident); err != nil {
		p.log.LogAttrs(ctx, slog.LevelError, "userinfo: decode identity", slog.String("app", ep.app.ID), slog.Any("err", err))
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"}, "no-store")
		return
	}
	// Required claims were checked when the token was issued.
	claims, _ := p.userClaims(ep.cfg, &ident, strings.Fields(c.Scope))
	claims["sub"] = g.UserID
	writeJSON(w, http.StatusOK, claims, "no-store")
}
