package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/identity"
)

const (
	// maxIDTokenBytes bounds the ID token before any base64 or JSON decoding.
	maxIDTokenBytes = 64 << 10
	// clockSkew is the leeway for exp, iat and nbf.
	clockSkew = time.Minute
)

// Failure reasons (the auth log's "reason"); each is also what identity.FailureReason returns.
const (
	reasonCallbackMalformed   = "oidc-callback-malformed"
	reasonStateMissing        = "oidc-state-missing"
	reasonStateMismatch       = "oidc-state-mismatch"
	reasonIssParamMissing     = "oidc-iss-parameter-missing"
	reasonIssParamMismatch    = "oidc-iss-parameter-mismatch"
	reasonIdPError            = "oidc-idp-error"
	reasonCodeMissing         = "oidc-code-missing"
	reasonFlowInvalid         = "oidc-flow-invalid"
	reasonReauthMissing       = "oidc-reauthentication-missing"
	reasonDiscoveryFailed     = "oidc-discovery-failed"
	reasonTokenExchange       = "oidc-token-exchange-failed"
	reasonTokenResponse       = "oidc-token-response-invalid"
	reasonIDTokenMissing      = "oidc-id-token-missing"
	reasonIDTokenMalformed    = "oidc-id-token-malformed"
	reasonAlgNotAllowed       = "oidc-algorithm-not-allowed"
	reasonKeyUnknown          = "oidc-signing-key-unknown"
	reasonKeyAlgMismatch      = "oidc-key-algorithm-mismatch"
	reasonJWKSUnavailable     = "oidc-jwks-unavailable"
	reasonSignatureInvalid    = "oidc-signature-invalid"
	reasonIssuerMismatch      = "oidc-issuer-mismatch"
	reasonAudienceMismatch    = "oidc-audience-mismatch"
	reasonAZPMismatch         = "oidc-azp-mismatch"
	reasonSubjectMissing      = "oidc-subject-missing"
	reasonExpired             = "oidc-token-expired"
	reasonNotYetValid         = "oidc-token-not-yet-valid"
	reasonIssuedInFuture      = "oidc-token-issued-in-future"
	reasonNonceMissing        = "oidc-nonce-missing"
	reasonNonceMismatch       = "oidc-nonce-mismatch"
	reasonATHashMismatch      = "oidc-at-hash-mismatch"
	reasonUserinfoFailed      = "oidc-userinfo-failed"
	reasonUserinfoSubMismatch = "oidc-userinfo-sub-mismatch"
	reasonEmailMissing        = "oidc-email-missing"
	reasonEmailInvalid        = "oidc-email-invalid"
	reasonEmailUnverified     = "oidc-email-unverified"
	reasonClaimsRejected      = "oidc-claims-rejected"
)

// idToken is a verified ID token.
type idToken struct {
	alg     jose.SignatureAlgorithm
	subject string
	claims  map[string]any
}

// jwsHeader is the part of the JOSE header Gatehouse reads before verifying.
type jwsHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
	B64  json.RawMessage `json:"b64"`
}

// verifyIDToken verifies the signature and the claims of raw for the flow with nonce. Every
// failure is a *identity.LoginError.
func (c *Connector) verifyIDToken(ctx context.Context, raw, nonce string) (*idToken, error) {
	if len(raw) > maxIDTokenBytes {
		return nil, identity.Failf(reasonIDTokenMalformed, "ID token is %d bytes (at most %d)", len(raw), maxIDTokenBytes)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, identity.Failf(reasonIDTokenMalformed, "ID token is not a compact JWS (%d parts)", len(parts))
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, identity.Fail(reasonIDTokenMalformed, fmt.Errorf("decoding the JOSE header: %w", err))
	}
	var h jwsHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, identity.Fail(reasonIDTokenMalformed, fmt.Errorf("decoding the JOSE header: %w", err))
	}
	alg := jose.SignatureAlgorithm(h.Alg)
	if !slices.Contains(allowedAlgs, alg) {
		return nil, identity.Failf(reasonAlgNotAllowed, "ID token algorithm %q is not allowed", short(h.Alg))
	}
	// No critical extensions are understood, and an unencoded payload (b64) is never accepted.
	if h.Crit != nil || h.B64 != nil {
		return nil, identity.Failf(reasonIDTokenMalformed, "ID token header has crit or b64")
	}
	if h.Typ != "" && !strings.EqualFold(h.Typ, "JWT") && !strings.EqualFold(h.Typ, "application/jwt") {
		return nil, identity.Failf(reasonIDTokenMalformed, "ID token typ %q is not JWT", short(h.Typ))
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return nil, identity.Fail(reasonIDTokenMalformed, fmt.Errorf("parsing the ID token: %w", err))
	}
	if len(jws.Signatures) != 1 {
		return nil, identity.Failf(reasonIDTokenMalformed, "ID token has %d signatures", len(jws.Signatures))
	}

	ks, err := c.keySet(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := ks.verificationKeys(ctx, h.Kid, alg)
	switch {
	case errors.Is(err, errUnknownKey):
		return nil, identity.Fail(reasonKeyUnknown, fmt.Errorf("kid %q: %w", short(h.Kid), err))
	case errors.Is(err, errKeyAlgMismatch):
		return nil, identity.Fail(reasonKeyAlgMismatch, fmt.Errorf("kid %q, alg %s: %w", short(h.Kid), alg, err))
	case err != nil:
		return nil, identity.Fail(reasonJWKSUnavailable, err)
	}
	var payload []byte
	for _, k := range keys {
		if payload, err = jws.Verify(k.Key); err == nil {
			break
		}
	}
	if err != nil {
		return nil, identity.Fail(reasonSignatureInvalid, fmt.Errorf("ID token signature (alg %s, kid %q): %w", alg, short(h.Kid), err))
	}

	claims, err := decodeObject(payload)
	if err != nil {
		return nil, identity.Fail(reasonIDTokenMalformed, fmt.Errorf("decoding the ID token claims: %w", err))
	}
	tok := &idToken{alg: alg, claims: claims}
	if err := c.checkIDTokenClaims(tok, nonce); err != nil {
		return nil, err
	}
	return tok, nil
}

// checkIDTokenClaims applies OpenID Connect Core §3.1.3.7 to verified claims.
func (c *Connector) checkIDTokenClaims(tok *idToken, nonce string) error {
	cl := tok.claims
	if iss, _ := cl["iss"].(string); iss != c.cfg.Issuer && !slices.Contains(c.opts.IDTokenIssuers, iss) {
		return identity.Failf(reasonIssuerMismatch, "ID token iss %q is not %q", short(iss), c.cfg.Issuer)
	}
	aud, ok := stringOrList(cl["aud"])
	if !ok || !slices.Contains(aud, c.cfg.ClientID) {
		return identity.Failf(reasonAudienceMismatch, "ID token aud %q does not contain client_id %q", shortList(aud), c.cfg.ClientID)
	}
	azp, hasAZP := cl["azp"]
	if len(aud) > 1 && !hasAZP {
		return identity.Failf(reasonAZPMismatch, "ID token has %d audiences and no azp", len(aud))
	}
	if hasAZP {
		if s, _ := azp.(string); s != c.cfg.ClientID {
			return identity.Failf(reasonAZPMismatch, "ID token azp %q is not client_id %q", short(s), c.cfg.ClientID)
		}
	}
	sub, _ := cl["sub"].(string)
	if sub == "" || len(sub) > 255 {
		return identity.Failf(reasonSubjectMissing, "ID token sub is missing, empty or longer than 255 bytes")
	}
	tok.subject = sub

	now := c.now()
	exp, ok := numericDate(cl["exp"])
	if !ok {
		return identity.Failf(reasonIDTokenMalformed, "ID token exp is missing or not a number")
	}
	if !now.Before(exp.Add(clockSkew)) {
		return identity.Failf(reasonExpired, "ID token expired at %s (now %s)", exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	iat, ok := numericDate(cl["iat"])
	if !ok {
		return identity.Failf(reasonIDTokenMalformed, "ID token iat is missing or not a number")
	}
	if iat.After(now.Add(clockSkew)) {
		return identity.Failf(reasonIssuedInFuture, "ID token issued at %s, in the future (now %s)", iat.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if v, present := cl["nbf"]; present {
		nbf, ok := numericDate(v)
		if !ok {
			return identity.Failf(reasonIDTokenMalformed, "ID token nbf is not a number")
		}
		if nbf.After(now.Add(clockSkew)) {
			return identity.Failf(reasonNotYetValid, "ID token not valid before %s (now %s)", nbf.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}

	got, present := cl["nonce"]
	if !present {
		return identity.Failf(reasonNonceMissing, "ID token has no nonce")
	}
	gs, _ := got.(string)
	if subtle.ConstantTimeCompare([]byte(gs), []byte(nonce)) != 1 {
		return identity.Failf(reasonNonceMismatch, "ID token nonce does not match the login flow's")
	}
	return nil
}

// checkATHash verifies the at_hash claim, when present, against the access token (Core §3.1.3.8):
// it binds the access token used for UserInfo to this ID token.
func checkATHash(tok *idToken, accessToken string) error {
	v, present := tok.claims["at_hash"]
	if !present {
		return nil
	}
	want, _ := v.(string)
	var h hash.Hash
	switch tok.alg {
	case jose.RS256, jose.PS256, jose.ES256:
		h = sha256.New()
	case jose.RS384, jose.PS384, jose.ES384:
		h = sha512.New384()
	default:
		h = sha512.New()
	}
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	got := base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return identity.Failf(reasonATHashMismatch, "ID token at_hash does not match the access token")
	}
	return nil
}

// numericDate decodes a JWT NumericDate (seconds since the epoch, possibly fractional).
func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// stringOrList decodes a claim that is a string or a list of strings (aud).
func stringOrList(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, len(out) > 0
	}
	return nil, false
}

func shortList(vs []string) string { return short(strings.Join(vs, ",")) }
