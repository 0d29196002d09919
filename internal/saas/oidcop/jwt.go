package oidcop

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/token"
)

// JWT header types.
const (
	typID     = "JWT"
	typAccess = "at+jwt" // RFC 9068: an access token can never pass for an ID token
)

// maxTokenSize caps a bearer token before any decoding.
const maxTokenSize = 16 << 10

var (
	errNoKey       = errors.New("oidcop: no signing key")
	errBadToken    = errors.New("oidcop: invalid access token")
	errTokenExpiry = errors.New("oidcop: access token expired or not yet valid")
)

var b64 = base64.RawURLEncoding

// accessClaims is the payload of an access token (RFC 9068 plus grant_id).
type accessClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ClientID  string `json:"client_id"`
	Scope     string `json:"scope"`
	GrantID   string `json:"grant_id"`
	ID        string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	ExpiresAt int64  `json:"exp"`
	AuthTime  int64  `json:"auth_time,omitempty"`
}

// sign returns the compact JWS of claims, RS256 with the current key, with header typ.
func (p *Provider) sign(typ string, claims any) (string, error) {
	if p.env.Keys == nil {
		return "", errNoKey
	}
	if key, kid := p.env.Keys.Signer(); key == nil || kid == "" {
		return "", errNoKey
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oidcop: encode claims: %w", err)
	}
	jws, err := token.SignJWS(p.env.Keys, typ, payload)
	if err != nil {
		return "", fmt.Errorf("oidcop: %w", err)
	}
	return jws, nil
}

// atHash is the ID token's at_hash of an access token: the left half of its SHA-256.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return b64.EncodeToString(sum[:len(sum)/2])
}

// verifyAccessToken checks an access token completely: size, compact JWS with alg exactly
// RS256 and no crit, typ at+jwt, a published kid (keys come only from keys.Manager, never from
// the token), the signature, iss, aud and client_id equal to clientID, exp in the future, nbf
// and iat not in the future beyond a minute, and a grant_id. It does not check whether the
// grant was revoked.
func (p *Provider) verifyAccessToken(raw, issuer, clientID string) (*accessClaims, error) {
	return p.verifyAccessTokenFor(raw, issuer, clientID, clientID)
}

// verifyAccessTokenFor is verifyAccessToken for an audience of its own (an MCP portal's
// URL); clientID "" accepts any client.
func (p *Provider) verifyAccessTokenFor(raw, issuer, audience, clientID string) (*accessClaims, error) {
	if len(raw) == 0 || len(raw) > maxTokenSize || p.env.Keys == nil {
		return nil, errBadToken
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: parse", errBadToken)
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != typAccess {
		return nil, fmt.Errorf("%w: typ", errBadToken)
	}
	pub, ok := p.env.Keys.PublicKey(h.KeyID)
	if !ok || pub == nil {
		return nil, fmt.Errorf("%w: unknown kid", errBadToken)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: signature", errBadToken)
	}
	var c accessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims", errBadToken)
	}
	if c.Issuer != issuer || c.Audience != audience || c.ClientID == "" || (clientID != "" && c.ClientID != clientID) || c.GrantID == "" || c.Subject == "" {
		return nil, fmt.Errorf("%w: iss, aud, client_id, sub or grant_id", errBadToken)
	}
	now := p.now()
	latest := now.Add(time.Minute).Unix()
	if c.ExpiresAt <= now.Unix() || c.NotBefore > latest || c.IssuedAt > latest {
		return nil, errTokenExpiry
	}
	return &c, nil
}
