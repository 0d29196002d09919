// Package token mints and verifies Gatehouse's JWTs (org, app and service-token tokens) in the
// exact wire format of Cloudflare Access: compact JWS, RS256, header
// {"alg":"RS256","kid":…,"typ":"JWT"}, and Cloudflare's claim names. It also provides a bounded
// cache of verified tokens for the request hot path.
//
// The JWS code is hand-rolled on purpose: it accepts exactly one algorithm bound to RSA keys from
// a KeySet, never takes keys or key URLs from the token (jwk, jku, x5u, x5c are ignored), rejects
// crit, and checks sizes and encodings strictly before any decoding (security rule 8).
package token

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Algorithm is the only JWS algorithm minted and accepted.
const Algorithm = "RS256"

// Token types (the "type" claim).
const (
	TypeApp = "app" // per-application token, sent to the origin
	TypeOrg = "org" // global session token on the auth domain
)

// Errors returned (wrapped) by Mint and Verify; test with errors.Is. Their text never contains
// token content.
var (
	// ErrMalformed: size, segment count, encoding or JSON is wrong, or the header has crit.
	ErrMalformed = errors.New("token: malformed")
	// ErrAlgorithm: alg is not exactly RS256.
	ErrAlgorithm = errors.New("token: unsupported algorithm")
	// ErrUnknownKey: kid is missing, unknown, or names a key no longer published.
	ErrUnknownKey = errors.New("token: unknown signing key")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("token: bad signature")
	// ErrIssuer: iss is not the expected issuer.
	ErrIssuer = errors.New("token: wrong issuer")
	// ErrExpired: exp is not in the future.
	ErrExpired = errors.New("token: expired")
	// ErrNotYetValid: nbf or iat is in the future beyond the allowed skew.
	ErrNotYetValid = errors.New("token: not yet valid")
	// ErrInvalidClaims: a required claim (exp, aud) is missing or a claim is inconsistent.
	ErrInvalidClaims = errors.New("token: invalid claims")
	// ErrNoKey: the Signer has no current key.
	ErrNoKey = errors.New("token: no signing key")
)

// Claims is the payload of a Gatehouse token, with Cloudflare Access's claim names. Times are
// NumericDate (seconds since the epoch).
type Claims struct {
	// Audience holds the application AUD tags (always a JSON array).
	Audience []string `json:"aud"`
	Email    string   `json:"email"`
	// Subject is the stable user UUID; empty (but present) in service-token tokens.
	Subject       string `json:"sub"`
	Issuer        string `json:"iss"`
	IssuedAt      int64  `json:"iat"`
	NotBefore     int64  `json:"nbf"`
	ExpiresAt     int64  `json:"exp"`
	Type          string `json:"type"`
	IdentityNonce string `json:"identity_nonce"`
	Country       string `json:"country"`
	// Custom holds the IdP attributes and claims configured for pass-through.
	Custom map[string]any `json:"custom,omitempty"`
	// AMR holds RFC 8176 authentication method references, where known.
	AMR []string `json:"amr,omitempty"`
	// CommonName is the service token's client ID in service-token tokens.
	CommonName string `json:"common_name,omitempty"`
	// IdP is the identity provider the user logged in with.
	IdP *IdP `json:"idp,omitempty"`
}

// IdP names the identity provider in the idp claim.
type IdP struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// HasAudience reports whether aud is one of the token's audiences. Verify does not check the
// audience: every caller must, for the application it is serving.
func (c *Claims) HasAudience(aud string) bool {
	return aud != "" && slices.Contains(c.Audience, aud)
}

// Signer supplies the current signing key and its kid; *keys.Manager implements it.
type Signer interface {
	Signer() (crypto.Signer, string)
}

// KeySet finds a published verification key by kid; *keys.Manager implements it. It returns false
// for unknown keys and for rotated-out keys past their overlap window.
type KeySet interface {
	PublicKey(kid string) (*rsa.PublicKey, bool)
}

var b64 = base64.RawURLEncoding

// Mint signs c with s's current key and returns the compact JWS. It refuses claims that Verify
// would reject (no iss, aud or exp, a bad type) and service-token claims with a subject.
func Mint(s Signer, c *Claims) (string, error) {
	if s == nil || c == nil {
		return "", fmt.Errorf("token: mint: %w", ErrNoKey)
	}
	if err := c.validForMint(); err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("token: mint: encode claims: %w", err)
	}
	return SignJWS(s, "JWT", payload)
}

// SignJWS returns the compact JWS of payload (JSON claims), RS256 with s's current key, with
// header {"alg":"RS256","kid":…,"typ":typ}. Mint uses it for Gatehouse's tokens, and the SaaS
// OIDC provider for ID and access tokens (typ "JWT" and "at+jwt").
func SignJWS(s Signer, typ string, payload []byte) (string, error) {
	if s == nil {
		return "", fmt.Errorf("token: sign: %w", ErrNoKey)
	}
	key, kid := s.Signer()
	if key == nil || kid == "" {
		return "", fmt.Errorf("token: sign: %w", ErrNoKey)
	}
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		return "", fmt.Errorf("token: sign: signing key %s is %T, want RSA: %w", kid, key.Public(), ErrNoKey)
	}
	kidJSON, err := json.Marshal(kid)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	typJSON, err := json.Marshal(typ)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	header := make([]byte, 0, 64+len(kidJSON)+len(typJSON))
	header = append(header, `{"alg":"RS256","kid":`...)
	header = append(header, kidJSON...)
	header = append(header, `,"typ":`...)
	header = append(header, typJSON...)
	header = append(header, '}')
	sigLen := b64.EncodedLen(512) // room for up to 4096-bit signatures
	buf := make([]byte, 0, b64.EncodedLen(len(header))+1+b64.EncodedLen(len(payload))+1+sigLen)
	buf = b64.AppendEncode(buf, header)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, payload)
	digest := sha256.Sum256(buf)
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("token: sign with %s: %w", kid, err)
	}
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	return string(buf), nil
}

func (c *Claims) validForMint() error {
	switch {
	case c.Issuer == "":
		return fmt.Errorf("token: mint: no iss: %w", ErrInvalidClaims)
	case len(c.Audience) == 0 || slices.Contains(c.Audience, ""):
		return fmt.Errorf("token: mint: aud empty or with an empty entry: %w", ErrInvalidClaims)
	case c.ExpiresAt <= 0:
		return fmt.Errorf("token: mint: no exp: %w", ErrInvalidClaims)
	case c.ExpiresAt <= c.NotBefore || c.ExpiresAt <= c.IssuedAt:
		return fmt.Errorf("token: mint: exp not after nbf and iat: %w", ErrInvalidClaims)
	case c.Type != TypeApp && c.Type != TypeOrg:
		return fmt.Errorf("token: mint: type %q, want %q or %q: %w", c.Type, TypeApp, TypeOrg, ErrInvalidClaims)
	case c.CommonName != "" && c.Subject != "":
		return fmt.Errorf("token: mint: service-token claims (common_name) must have an empty sub: %w", ErrInvalidClaims)
	}
	return nil
}
