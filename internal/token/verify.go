package token

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"
)

// MaxTokenSize caps the length of a token Verify looks at. Gatehouse tokens stay well under 4 KiB
// (they travel in cookies); the cap is checked before any decoding.
const MaxTokenSize = 16 << 10

// DefaultSkew is how far in the future nbf and iat may be, for clocks that differ between
// replicas.
const DefaultSkew = 60 * time.Second

// minKeyBits refuses weak keys even if a KeySet returns one.
const minKeyBits = 2048

// Verifier verifies tokens signed by keys from a KeySet for one issuer. It is safe for
// concurrent use once configured.
type Verifier struct {
	keys   KeySet
	issuer string
	now    func() time.Time
	// Skew is how far in the future nbf and iat may be; exp gets no leeway. Set it before use.
	Skew time.Duration
}

// NewVerifier returns a Verifier for tokens issued by issuer (exact match) and signed by keys;
// now defaults to time.Now.
func NewVerifier(keys KeySet, issuer string, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{keys: keys, issuer: issuer, now: now, Skew: DefaultSkew}
}

// header holds the JOSE header fields Verify reads; jku, jwk, x5u and x5c are deliberately not
// among them: keys come only from the KeySet.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  *string         `json:"typ"`
	Crit json.RawMessage `json:"crit"`
}

// Verify checks raw completely except for the audience (see Claims.HasAudience) and returns its
// claims. Checks: size cap, three strictly base64url-encoded segments, header with alg exactly
// RS256, a known kid and no crit, an RS256 signature by that key, iss, exp in the future, nbf and
// iat not in the future beyond Skew, and a non-empty aud. Any failure rejects the token with an
// error wrapping one of the package's sentinel errors.
func (v *Verifier) Verify(raw string) (*Claims, error) {
	c, _, err := v.VerifyKID(raw)
	return c, err
}

// VerifyKID is Verify that also returns the kid of the key that verified the token, for
// Verified.KID.
func (v *Verifier) VerifyKID(raw string) (*Claims, string, error) {
	if len(raw) > MaxTokenSize {
		return nil, "", fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(raw), MaxTokenSize)
	}
	// One pass over the bytes before decoding anything: only the base64url alphabet and exactly
	// two dots. This also rules out padding, the standard alphabet, and the whitespace the base64
	// decoder would otherwise skip.
	dot1, dot2, dots := -1, -1, 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '.':
			dots++
			if dots == 1 {
				dot1 = i
			} else {
				dot2 = i
			}
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return nil, "", fmt.Errorf("%w: invalid character at offset %d", ErrMalformed, i)
		}
	}
	if dots != 2 {
		return nil, "", fmt.Errorf("%w: %d segments, want 3", ErrMalformed, dots+1)
	}
	h64, p64, s64 := raw[:dot1], raw[dot1+1:dot2], raw[dot2+1:]
	if h64 == "" || p64 == "" || s64 == "" {
		return nil, "", fmt.Errorf("%w: empty segment", ErrMalformed)
	}

	hb, err := decodeSegment(h64)
	if err != nil {
		return nil, "", fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, "", fmt.Errorf("%w: header JSON", ErrMalformed)
	}
	if h.Alg != Algorithm {
		return nil, "", fmt.Errorf("%w: alg is not %s", ErrAlgorithm, Algorithm)
	}
	if h.Crit != nil {
		return nil, "", fmt.Errorf("%w: crit header not supported", ErrMalformed)
	}
	if h.Typ != nil && *h.Typ != "JWT" {
		return nil, "", fmt.Errorf("%w: typ is not JWT", ErrMalformed)
	}
	if h.Kid == "" {
		return nil, "", fmt.Errorf("%w: no kid", ErrUnknownKey)
	}
	var pub *rsa.PublicKey
	ok := false
	if v.keys != nil {
		pub, ok = v.keys.PublicKey(h.Kid)
	}
	if !ok || pub == nil {
		return nil, "", fmt.Errorf("%w: kid not published", ErrUnknownKey)
	}
	if pub.N == nil || pub.N.BitLen() < minKeyBits {
		return nil, "", fmt.Errorf("%w: key too small for %s", ErrUnknownKey, Algorithm)
	}

	sig, err := decodeSegment(s64)
	if err != nil {
		return nil, "", fmt.Errorf("%w: signature: %w", ErrMalformed, err)
	}
	digest := sha256.Sum256([]byte(raw[:dot2]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return nil, "", ErrSignature
	}

	// Signed by us from here on; the checks below guard against our own bugs and replays.
	pb, err := decodeSegment(p64)
	if err != nil {
		return nil, "", fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	c := new(Claims)
	if err := json.Unmarshal(pb, c); err != nil {
		return nil, "", fmt.Errorf("%w: payload JSON", ErrMalformed)
	}
	if err := v.checkClaims(c); err != nil {
		return nil, "", err
	}
	return c, h.Kid, nil
}

func (v *Verifier) checkClaims(c *Claims) error {
	if v.issuer == "" || c.Issuer != v.issuer {
		return ErrIssuer
	}
	if c.ExpiresAt == 0 {
		return fmt.Errorf("%w: no exp", ErrInvalidClaims)
	}
	now := v.now()
	if now.Unix() >= c.ExpiresAt {
		return ErrExpired
	}
	latest := now.Add(v.Skew).Unix()
	if c.NotBefore > latest {
		return fmt.Errorf("%w: nbf in the future", ErrNotYetValid)
	}
	if c.IssuedAt > latest {
		return fmt.Errorf("%w: iat in the future", ErrNotYetValid)
	}
	if len(c.Audience) == 0 {
		return fmt.Errorf("%w: no aud", ErrInvalidClaims)
	}
	return nil
}

// decodeSegment decodes strict, unpadded base64url (trailing bits must be zero, so every
// byte string has exactly one accepted encoding).
func decodeSegment(s string) ([]byte, error) {
	return strictB64.DecodeString(s)
}

var strictB64 = b64.Strict()
