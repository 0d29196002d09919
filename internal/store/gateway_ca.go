package store

import (
	"context"
	"time"
)

// Gateway CA states follow Cloudflare Gateway's certificate lifecycle. A new CA is inactive;
// an available CA is published for clients to install (it signs nothing yet); the one CA in use
// signs the leaf certificates of TLS inspection. At most MaxAvailableGatewayCAs are available or
// in use at a time, and at most one is in use.
const (
	GatewayCAInactive  = "inactive"
	GatewayCAAvailable = "available"
	GatewayCAInUse     = "in_use"
)

// MaxAvailableGatewayCAs bounds the CAs that are available or in use, as in Cloudflare Gateway.
const MaxAvailableGatewayCAs = 10

// GatewayCA is a root certificate authority of the secure web gateway's TLS inspection. The
// private key is sealed under the master key (package keys) before it reaches the store; it is
// never serialised to JSON and never formatted by fmt.
type GatewayCA struct {
	ID string `json:"id"` // random UUID
	// State is GatewayCAInactive, GatewayCAAvailable or GatewayCAInUse.
	State string `json:"state"`
	// Fingerprint is the lower-case hex SHA-256 of the certificate's DER.
	Fingerprint    string `json:"fingerprint"`
	CertificatePEM string `json:"certificate_pem"`
	// PrivateKeyEncrypted is the sealed PKCS #8 private key.
	PrivateKeyEncrypted SealedKey `json:"-"`
	CreatedAt           time.Time `json:"created_at"`
	// ExpiresAt is the certificate's NotAfter.
	ExpiresAt time.Time `json:"expires_at"`
	// UpdatedAt is when the state last changed (CreatedAt until then).
	UpdatedAt time.Time `json:"updated_at"`
}

// SealedKey is an encrypted private key. Its formatting verbs print only its length, so that
// logging a struct that holds one shows no ciphertext.
type SealedKey []byte

// String returns a placeholder naming the length only.
func (k SealedKey) String() string { return "[sealed key]" }

// GoString is String, for %#v.
func (k SealedKey) GoString() string { return k.String() }

// GatewayCAs stores the gateway's CAs. Optional (found by type assertion), like the admin
// capabilities; everything in the Store doc comment holds for it. Every state change notifies
// watchers as a Keys change.
type GatewayCAs interface {
	// CreateGatewayCA stores a new CA in state GatewayCAInactive (c.State must be empty or
	// inactive). A zero CreatedAt means now; UpdatedAt is set to CreatedAt. c's State,
	// CreatedAt and UpdatedAt are set to what was stored. ErrAlreadyExists when the ID is taken.
	CreateGatewayCA(ctx context.Context, c *GatewayCA) error
	// GetGatewayCA returns a CA by ID.
	GetGatewayCA(ctx context.Context, id string) (*GatewayCA, error)
	// ListGatewayCAs returns every CA, newest first (creation time, then ID descending).
	ListGatewayCAs(ctx context.Context) ([]GatewayCA, error)
	// SetGatewayCAState moves a CA to state, atomically, and returns it. Making a CA
	// GatewayCAInUse demotes the CA in use before (if any) to GatewayCAAvailable in the same
	// transaction. Setting the state a CA already has changes nothing. ErrNotFound when the CA
	// does not exist; ErrConflict when the CA in use would be made available or inactive (make
	// another CA in use instead), when an expired CA would be made available or in use, or when
	// more than MaxAvailableGatewayCAs would be available or in use. An unknown state is an
	// error wrapping none of the sentinels.
	SetGatewayCAState(ctx context.Context, id, state string) (*GatewayCA, error)
}
