package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// allowedAlgs are the ID token signature algorithms Gatehouse accepts: asymmetric only, never
// "none" or HMAC (a client secret is not a signing key anyone should trust).
var allowedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
}

const (
	// jwksSoftMaxAge is how long fetched keys are used before they are fetched again (so that a
	// key the provider withdrew stops verifying); a failed refresh keeps them until jwksMaxAge.
	jwksSoftMaxAge = time.Hour
	jwksMaxAge     = 24 * time.Hour
	maxJWKSKeys    = 100
	minRSABits     = 2048
)

var (
	errUnknownKey      = errors.New("no key with this kid in the provider's JWKS")
	errKeyAlgMismatch  = errors.New("the key named by kid cannot verify this algorithm")
	errJWKSUnavailable = errors.New("the provider's JWKS could not be fetched")
)

// keySet caches a provider's JWKS. An unknown kid triggers a refetch, at most once per
// retryInterval, so that tokens with random kids cannot make Gatehouse hammer the provider.
type keySet struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetched   time.Time // last successful fetch
	attempted time.Time // last fetch attempt
	// inflight is closed when the running fetch ends.
	inflight chan struct{}
}

func newKeySet(url string, client *http.Client, now func() time.Time) *keySet {
	return &keySet{url: url, client: client, now: now}
}

// verificationKeys returns the keys that may verify a token signed with alg and naming kid (""
// when the token names none). Each returned key is usable with alg: its type and curve match,
// and its `use` and `alg`, when present, agree.
func (ks *keySet) verificationKeys(ctx context.Context, kid string, alg jose.SignatureAlgorithm) ([]jose.JSONWebKey, error) {
	refetched := false
	for {
		ks.mu.Lock()
		if ks.inflight != nil {
			ch := ks.inflight
			ks.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		now := ks.now()
		age := now.Sub(ks.fetched)
		have := !ks.fetched.IsZero() && age < jwksMaxAge
		fresh := have && age < jwksSoftMaxAge
		mayFetch := ks.attempted.IsZero() || now.Sub(ks.attempted) >= retryInterval || now.Before(ks.attempted)
		switch {
		case have && (fresh || refetched || !mayFetch):
			found, err := selectKeys(ks.keys, kid, alg)
			if len(found) > 0 || !errors.Is(err, errUnknownKey) || refetched || !mayFetch {
				ks.mu.Unlock()
				return found, err
			}
			// An unknown kid: the provider may have rotated its keys.
		case !have && (refetched || !mayFetch):
			ks.mu.Unlock()
			return nil, errJWKSUnavailable
		}
		// Fetch: the first time, when the keys are old, or for an unknown kid.
		ch := make(chan struct{})
		ks.inflight, ks.attempted = ch, now
		ks.mu.Unlock()

		keys, err := ks.fetch(ctx)

		ks.mu.Lock()
		if err == nil {
			ks.keys, ks.fetched = keys, ks.now()
		}
		ks.inflight = nil
		close(ch)
		ks.mu.Unlock()
		refetched = true
		if err != nil && !have {
			return nil, fmt.Errorf("%w: %w", errJWKSUnavailable, err)
		}
	}
}

func (ks *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	a, err := doBounded(ks.client, req, maxJWKSBytes)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	if a.status != http.StatusOK {
		return nil, fmt.Errorf("jwks: %s answered HTTP %d", ks.url, a.status)
	}
	return parseJWKS(a.body)
}

// parseJWKS decodes a JWK set, keeping the public signature keys Gatehouse can use. A key it
// cannot use (unknown type, symmetric, RSA below 2048 bits, encryption-only) is skipped rather
// than failing the whole set.
func parseJWKS(b []byte) ([]jose.JSONWebKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("jwks: decoding: %w", err)
	}
	if len(raw.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("jwks: %d keys (at most %d)", len(raw.Keys), maxJWKSKeys)
	}
	keys := make([]jose.JSONWebKey, 0, len(raw.Keys))
	for _, r := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch pk := k.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < minRSABits {
				continue
			}
		case *rsa.PrivateKey:
			k.Key = &pk.PublicKey
		case *ecdsa.PublicKey:
		case *ecdsa.PrivateKey:
			k.Key = &pk.PublicKey
		default:
			continue
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// selectKeys returns the keys named kid (every key when kid is "") that can verify alg.
func selectKeys(keys []jose.JSONWebKey, kid string, alg jose.SignatureAlgorithm) ([]jose.JSONWebKey, error) {
	var out []jose.JSONWebKey
	named := false
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		named = true
		if keyFitsAlg(k, alg) {
			out = append(out, k)
		}
	}
	switch {
	case len(out) > 0:
		return out, nil
	case named:
		return nil, errKeyAlgMismatch
	}
	return nil, errUnknownKey
}

// keyFitsAlg binds the key type to the algorithm: RS*/PS* need RSA, ES256/384/512 need ECDSA on
// P-256/P-384/P-521; a key that states its alg must state this one.
func keyFitsAlg(k jose.JSONWebKey, alg jose.SignatureAlgorithm) bool {
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return false
	}
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		_, ok := k.Key.(*rsa.PublicKey)
		return ok
	case jose.ES256, jose.ES384, jose.ES512:
		pk, ok := k.Key.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		want := map[jose.SignatureAlgorithm]elliptic.Curve{jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(), jose.ES512: elliptic.P521()}[alg]
		return pk.Curve == want
	}
	return false
}
