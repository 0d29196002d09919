package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Audit actions of gateway devices.
const (
	ActionRevokeDevice      = "gateway_device.revoke"
	ActionRevokeUserDevices = "user.revoke_devices"
)

// ErrNoDevices: the store cannot hold gateway devices.
var ErrNoDevices = errors.New("this store backend cannot hold gateway devices")

// Device is an enrolled gateway device as the admin API and CLI show it, with the field names
// of Cloudflare's devices API (id, name, created, last_seen, revoked_at, user {id, email,
// name}); never its secret or the secret's hash.
type Device struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Created   time.Time  `json:"created"`
	LastSeen  time.Time  `json:"last_seen,omitzero"`
	RevokedAt time.Time  `json:"revoked_at,omitzero"`
	User      DeviceUser `json:"user"`
}

// DeviceUser is the user a device belongs to, as now in the registry.
type DeviceUser struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

func deviceOf(d *store.GatewayDevice, u *store.User) Device {
	out := Device{ID: d.ID, Name: d.Name, Created: d.CreatedAt, LastSeen: d.LastSeenAt, RevokedAt: d.RevokedAt,
		User: DeviceUser{ID: d.UserID}}
	if u != nil {
		out.User.Email, out.User.Name = u.Email, u.Name
	}
	return out
}

func (s *Service) devices() (store.GatewayDevices, error) {
	d, ok := s.Store.(store.GatewayDevices)
	if !ok {
		return nil, ErrNoDevices
	}
	return d, nil
}

// ListDevices returns the gateway devices of a user (by ID or e-mail), or of every user when
// idOrEmail is "", revoked ones included, oldest first.
func (s *Service) ListDevices(ctx context.Context, idOrEmail string) ([]Device, error) {
	devs, err := s.devices()
	if err != nil {
		return nil, err
	}
	userID := ""
	users := map[string]*store.User{}
	if idOrEmail != "" {
		u, err := s.FindUser(ctx, idOrEmail)
		if err != nil {
			return nil, err
		}
		userID, users[u.ID] = u.ID, u
	}
	list, err := devs.ListGatewayDevices(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list gateway devices: %w", err)
	}
	out := make([]Device, 0, len(list))
	for i := range list {
		d := &list[i]
		u, known := users[d.UserID]
		if !known {
			var err error
			u, err = s.Store.GetUser(ctx, d.UserID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("get user: %w", err)
			}
			users[d.UserID] = u
		}
		out = append(out, deviceOf(d, u))
	}
	return out, nil
}

// RevokeDevice revokes one gateway device; it stops authenticating on the next request.
// Revoking a revoked device changes nothing. ErrNotFound when there is no such device.
func (s *Service) RevokeDevice(ctx context.Context, a Actor, id string) (*Device, error) {
	devs, err := s.devices()
	if err != nil {
		return nil, err
	}
	d, err := devs.RevokeGatewayDevice(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = fmt.Errorf("gateway device %q: %w", id, ErrNotFound)
	case err != nil:
		err = fmt.Errorf("revoke gateway device: %w", err)
	}
	var out *Device
	details := map[string]any{}
	if d != nil {
		u, _ := s.Store.GetUser(ctx, d.UserID) // nil when gone: the device is shown without e-mail
		dev := deviceOf(d, u)
		out = &dev
		details["user_id"] = d.UserID
	}
	return out, s.finish(ctx, a, ActionRevokeDevice, "gateway_device", id, details, err)
}

// RevokeUserDevices revokes every gateway device of a user (by ID or e-mail) and returns how
// many it revoked.
func (s *Service) RevokeUserDevices(ctx context.Context, a Actor, idOrEmail string) (*store.User, int, error) {
	devs, err := s.devices()
	if err != nil {
		return nil, 0, err
	}
	u, err := s.FindUser(ctx, idOrEmail)
	n := 0
	if err == nil {
		if n, err = devs.RevokeUserGatewayDevices(ctx, u.ID); err != nil {
			err = fmt.Errorf("revoke user gateway devices: %w", err)
		}
	}
	target := idOrEmail
	if u != nil {
		target = u.ID
	}
	return u, n, s.finish(ctx, a, ActionRevokeUserDevices, "user", target, map[string]any{"devices_revoked": n}, err)
}
