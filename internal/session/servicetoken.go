package session

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"

	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ServiceTokenCheck is the outcome of checking service-token credentials: the policy input
// (token ID, validity, the reason it was refused) and, when valid, the token itself.
type ServiceTokenCheck struct {
	policy.ServiceTokenInput
	// Token is the verified token; nil unless Valid.
	Token *store.ServiceToken
}

// Reasons CheckServiceToken refuses credentials for.
const (
	ReasonServiceTokenInvalid  = "service-token-invalid"
	ReasonServiceTokenDisabled = "service-token-disabled"
	ReasonServiceTokenExpired  = "service-token-expired"
)

// CheckServiceToken verifies service-token credentials against tokens (by client ID, as in a
// snapshot): a known client ID, the secret's SHA-256 compared in constant time, enabled and not
// expired at now. It is the one check every surface that accepts service tokens uses (the
// reverse proxy's CF-Access-Client-Id headers, the gateway's Proxy-Authorization).
func CheckServiceToken(tokens map[string]*store.ServiceToken, clientID, secret string, now time.Time) ServiceTokenCheck {
	st := tokens[clientID]
	if st == nil || clientID == "" || secret == "" {
		// Hash anyway so an unknown client ID costs the same as a wrong secret.
		sum := sha256.Sum256([]byte(secret))
		_ = subtle.ConstantTimeCompare(sum[:], sum[:])
		return ServiceTokenCheck{ServiceTokenInput: policy.ServiceTokenInput{Reason: ReasonServiceTokenInvalid}}
	}
	sum := sha256.Sum256([]byte(secret))
	want, err := hex.DecodeString(st.ClientSecretSHA256)
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return ServiceTokenCheck{ServiceTokenInput: policy.ServiceTokenInput{ID: st.ID, Reason: ReasonServiceTokenInvalid}}
	}
	if st.Disabled {
		return ServiceTokenCheck{ServiceTokenInput: policy.ServiceTokenInput{ID: st.ID, Reason: ReasonServiceTokenDisabled}}
	}
	if exp := ServiceTokenExpiry(st); !exp.IsZero() && !now.Before(exp) {
		return ServiceTokenCheck{ServiceTokenInput: policy.ServiceTokenInput{ID: st.ID, Reason: ReasonServiceTokenExpired}}
	}
	return ServiceTokenCheck{ServiceTokenInput: policy.ServiceTokenInput{ID: st.ID, Valid: true}, Token: st}
}

// ServiceTokenExpiry is when a service token stops working (zero: never).
func ServiceTokenExpiry(st *store.ServiceToken) time.Time {
	if !st.ExpiresAt.IsZero() {
		return st.ExpiresAt
	}
	if !st.CreatedAt.IsZero() && st.Duration > 0 {
		return st.CreatedAt.Add(st.Duration.Std())
	}
	return time.Time{}
}
