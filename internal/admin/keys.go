package admin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Signing key states: the current key signs; a previous key was rotated out and stays
// published (verifies, or for saml-encryption decrypts) until its retire_at.
const (
	KeyStateCurrent  = "current"
	KeyStatePrevious = "previous"
)

// SigningKeyInfo is what the admin API shows of a signing key: never its private material
// (the store keeps it sealed; this type has no field for it).
type SigningKeyInfo struct {
	KID string `json:"kid"`
	// Use is the key set: tokens (Gatehouse's JWTs and SaaS OIDC tokens), saas-saml,
	// saml-encryption or saml-sp, as `gatehouse keys rotate --use` names them.
	Use       string    `json:"use"`
	Algorithm string    `json:"alg"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	// RotatedAt is when a previous key was rotated out (its successor's creation); RetireAt is
	// when it stops being published.
	RotatedAt      time.Time `json:"rotated_at,omitzero"`
	RetireAt       time.Time `json:"retire_at,omitzero"`
	PublicJWK      PublicJWK `json:"public_jwk"`
	CertificatePEM string    `json:"certificate_pem"`
}

// PublicJWK is the public half of a key as a JSON Web Key (RFC 7517): n and e for RSA, crv, x
// and y for EC. It has no field for private parameters (d, p, q, ...).
type PublicJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// keyUseName names a store key use as the CLI does ("" is tokens).
func keyUseName(use string) string {
	if use == "" {
		return "tokens"
	}
	return use
}

// SigningKeys returns the published signing keys of every use (the store's current keys and
// the rotated-out keys not yet retired), newest first, public parts only.
func (s *Service) SigningKeys(ctx context.Context) ([]SigningKeyInfo, error) {
	sks, err := s.Store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("admin: signing keys: %w", err)
	}
	out := make([]SigningKeyInfo, 0, len(sks))
	// The store lists keys in rotation order, newest first: a rotated-out key was rotated
	// when the next newer key of its use was made.
	newer := map[string]time.Time{}
	for _, k := range sks {
		jwk, err := publicJWK(k)
		if err != nil {
			return nil, err
		}
		info := SigningKeyInfo{KID: k.ID, Use: keyUseName(k.Use), Algorithm: k.Algorithm, State: KeyStateCurrent,
			CreatedAt: k.CreatedAt, PublicJWK: jwk, CertificatePEM: k.CertificatePEM}
		if !k.RetireAt.IsZero() {
			info.State, info.RetireAt, info.RotatedAt = KeyStatePrevious, k.RetireAt, newer[k.Use]
		}
		newer[k.Use] = k.CreatedAt
		out = append(out, info)
	}
	return out, nil
}

// publicJWK reads the public key of k's certificate.
func publicJWK(k store.SigningKey) (PublicJWK, error) {
	block, _ := pem.Decode([]byte(k.CertificatePEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return PublicJWK{}, fmt.Errorf("admin: signing key %s: stored certificate is not PEM", k.ID)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return PublicJWK{}, fmt.Errorf("admin: signing key %s: %w", k.ID, err)
	}
	j := PublicJWK{Kid: k.ID, Use: "sig", Alg: k.Algorithm}
	if k.Use == store.SigningKeyUseSAMLEncryption {
		j.Use, j.Alg = "enc", "" // it decrypts, never signs
	}
	b64 := base64.RawURLEncoding.EncodeToString
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return PublicJWK{}, fmt.Errorf("admin: signing key %s: unsupported curve", k.ID)
		}
		ecdh, err := pub.ECDH()
		if err != nil {
			return PublicJWK{}, fmt.Errorf("admin: signing key %s: %w", k.ID, err)
		}
		raw := ecdh.Bytes() // 0x04 || X || Y
		j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64(raw[1:33]), b64(raw[33:])
	default:
		return PublicJWK{}, fmt.Errorf("admin: signing key %s: unsupported key type %T", k.ID, pub)
	}
	return j, nil
}

// GatewayCAs lists the gateway's TLS inspection CAs as `gatehouse gateway ca list` does. The
// composition root wires an implementation (package admin does not know the gateway's).
type GatewayCAs interface {
	// List returns every CA, newest first, without private keys.
	List(ctx context.Context) ([]GatewayCertificate, error)
}

// GatewayCertificate is a gateway CA as the CLI's --json shows it, with Cloudflare's in_use.
// It has no field for the private key, which stays sealed in the store.
type GatewayCertificate struct {
	ID          string    `json:"id"`
	State       string    `json:"state"` // inactive, available or in_use
	InUse       bool      `json:"in_use"`
	Subject     string    `json:"subject"`
	Fingerprint string    `json:"fingerprint"` // hex SHA-256 of the certificate DER
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// CertificatePEM is the public certificate, to install in trust stores.
	CertificatePEM string `json:"certificate_pem"`
}

// GatewayCertificates returns the gateway CAs, newest first.
func (s *Service) GatewayCertificates(ctx context.Context) ([]GatewayCertificate, error) {
	if s.GatewayCAs == nil {
		return nil, fmt.Errorf("%w: the gateway's CAs are not available in this process", ErrNotFound)
	}
	return s.GatewayCAs.List(ctx)
}
