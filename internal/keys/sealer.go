package keys

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
)

// Purposes of a Sealer. Each derives its own key from the master key, so a value sealed for
// one purpose never opens as another's.
const (
	// PurposeGatewayCA seals the private keys of the secure web gateway's TLS inspection CAs.
	PurposeGatewayCA = "gateway CA key"
	// PurposeMCPUpstreamTokens seals what Gatehouse holds as the OAuth client of upstream MCP
	// servers: tokens, client secrets and PKCE verifiers.
	PurposeMCPUpstreamTokens = "mcp upstream tokens"
)

// Sealer encrypts private keys other than the signing keys under the master key, in the signing
// keys' format (version byte, random nonce, AES-256-GCM) with a key derived for its purpose. The
// ID given to Seal and Open is bound as additional data, so a sealed value cannot be moved to
// another object's row. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer derives the key of purpose (one of the Purpose constants) from masterKey
// (MasterKeySize bytes).
func NewSealer(masterKey []byte, purpose string) (*Sealer, error) {
	switch purpose {
	case PurposeGatewayCA, PurposeMCPUpstreamTokens:
	default:
		return nil, errors.New("keys: unknown sealing purpose")
	}
	aead, err := newSealerInfo(masterKey, "gatehouse keys: "+purpose+" encryption v1")
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext for the object id.
func (s *Sealer) Seal(id string, plaintext []byte) ([]byte, error) {
	return seal(s.aead, rand.Reader, id, plaintext)
}

// Open decrypts what Seal returned for id. The error wraps ErrWrongMasterKey when the master key
// differs or the bytes (or id) were altered; it never contains key material.
func (s *Sealer) Open(id string, sealed []byte) ([]byte, error) {
	return open(s.aead, id, sealed)
}

// String hides the key.
func (s *Sealer) String() string { return "keys.Sealer" }

// GoString hides the key.
func (s *Sealer) GoString() string { return s.String() }
