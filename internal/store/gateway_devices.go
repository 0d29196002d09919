package store

import (
	"context"
	"time"
)

// GatewayDevice is a device a user enrolled for the secure web gateway (package gateway): its
// ID is the username of the device's proxy credentials (Proxy-Authorization: Basic) and a
// random secret, shown once at enrolment, is the password. Only the secret's SHA-256 is stored.
type GatewayDevice struct {
	// ID is a random UUID, the proxy username.
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	// Name is what the user called the device ("work laptop").
	Name string `json:"name"`
	// SecretSHA256 is the lower-case hex SHA-256 of the secret. Never serialised.
	SecretSHA256 string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	// LastSeenAt is when the gateway last accepted the device's credentials, as recorded
	// (the gateway coalesces these writes, so it may lag by a minute); zero when never.
	LastSeenAt time.Time `json:"last_seen_at,omitzero"`
	// RevokedAt is when the device was revoked; zero while it may authenticate.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Revoked reports whether the device was revoked.
func (d *GatewayDevice) Revoked() bool { return !d.RevokedAt.IsZero() }

// MaxGatewayDeviceNameLen bounds GatewayDevice.Name, in bytes.
const MaxGatewayDeviceNameLen = 100

// GatewayDevices stores enrolled gateway devices. Optional (found by type assertion), like the
// admin capabilities; everything in the Store doc comment holds for it. Revocations notify
// watchers as a Revocations change (and other processes on the same database through the
// store's change feed), so that a cache of device state can be dropped at once.
//
// A revoked device stays revoked: nothing un-revokes it (the user enrols a new one).
type GatewayDevices interface {
	// CreateGatewayDevice stores a new device with LastSeenAt and RevokedAt zero; a zero
	// CreatedAt means now. d's CreatedAt is set to what was stored. ErrAlreadyExists when the
	// ID is taken; ErrNotFound (wrapped) when d.UserID is not a user.
	CreateGatewayDevice(ctx context.Context, d *GatewayDevice) error
	// GetGatewayDevice returns a device by ID, revoked or not.
	GetGatewayDevice(ctx context.Context, id string) (*GatewayDevice, error)
	// ListGatewayDevices returns the devices of userID, or of every user when userID is "",
	// revoked ones included, ordered by creation time, then ID.
	ListGatewayDevices(ctx context.Context, userID string) ([]GatewayDevice, error)
	// RevokeGatewayDevice sets the device's RevokedAt to now and returns it; revoking it again
	// changes nothing (the first time stays). ErrNotFound when there is no such device.
	RevokeGatewayDevice(ctx context.Context, id string) (*GatewayDevice, error)
	// RevokeUserGatewayDevices revokes every device of the user not revoked yet, atomically,
	// and returns how many it revoked (0 when the user has none, or is unknown).
	RevokeUserGatewayDevices(ctx context.Context, userID string) (int, error)
	// TouchGatewayDevices records last-seen times of many devices in one write (the gateway
	// batches them): each device's LastSeenAt becomes the given time when that is later than
	// the stored one. Unknown IDs are ignored; it does not notify watchers.
	TouchGatewayDevices(ctx context.Context, seen map[string]time.Time) error
}
