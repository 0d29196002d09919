package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// tokenResponse is the token endpoint's answer (RFC 6749 §5.1, OIDC Core §3.1.3.3).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	IDToken     string `json:"id_token"`
}

// exchange redeems the authorization code at the token endpoint, authenticating with
// client_secret_basic (or client_secret_post when that is all the provider supports).
func (c *Connector) exchange(ctx context.Context, md *metadata, code, redirectURI, verifier string) (*tokenResponse, error) {
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {redirectURI},
	}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	basic := md.authMethod() == "client_secret_basic"
	if !basic {
		form.Set("client_id", c.cfg.ClientID)
		form.Set("client_secret", c.secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, md.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, identity.Fail(reasonTokenExchange, fmt.Errorf("token request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		// RFC 6749 §2.3.1: the client ID and secret are form-encoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.secret))
	}
	a, err := c.do(req, maxTokenBytes)
	if err != nil {
		return nil, identity.Fail(reasonTokenExchange, fmt.Errorf("token endpoint: %w", err))
	}
	if a.status != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(a.body, &e)
		return nil, identity.Failf(reasonTokenExchange, "token endpoint answered HTTP %d: error %q: %q", a.status, short(e.Error), short(e.Description))
	}
	var tr tokenResponse
	if err := json.Unmarshal(a.body, &tr); err != nil {
		return nil, identity.Fail(reasonTokenResponse, fmt.Errorf("decoding the token response: %w", err))
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "Bearer") {
		return nil, identity.Failf(reasonTokenResponse, "token response lacks a bearer access token (token_type %q)", short(tr.TokenType))
	}
	if tr.IDToken == "" {
		return nil, identity.Failf(reasonIDTokenMissing, "token response has no id_token (is the openid scope granted?)")
	}
	return &tr, nil
}

// userinfo fetches the UserInfo claims and checks that they are about the ID token's subject
// (OIDC Core §5.3.2: otherwise the answer must not be used — token substitution).
func (c *Connector) userinfo(ctx context.Context, endpoint, accessToken, subject string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, identity.Fail(reasonUserinfoFailed, fmt.Errorf("userinfo request: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	a, err := c.do(req, maxUserinfoBytes)
	if err != nil {
		return nil, identity.Fail(reasonUserinfoFailed, fmt.Errorf("userinfo: %w", err))
	}
	if a.status != http.StatusOK {
		return nil, identity.Failf(reasonUserinfoFailed, "userinfo endpoint answered HTTP %d", a.status)
	}
	// Signed or encrypted UserInfo answers (application/jwt) are not requested by Gatehouse.
	if mt := mediaType(a.header.Get("Content-Type")); mt == "application/jwt" {
		return nil, identity.Failf(reasonUserinfoFailed, "userinfo answered %s; only JSON is supported", mt)
	}
	m, err := decodeObject(a.body)
	if err != nil {
		return nil, identity.Fail(reasonUserinfoFailed, fmt.Errorf("decoding the userinfo answer: %w", err))
	}
	if sub, _ := m["sub"].(string); sub != subject {
		return nil, identity.Failf(reasonUserinfoSubMismatch, "userinfo sub %q is not the ID token's %q", short(sub), short(subject))
	}
	return m, nil
}
