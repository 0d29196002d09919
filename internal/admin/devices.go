package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Audit actions of gateway devices.
const (
	ActionRevokeDevice      = "gateway_device.revoke"
	ActionRevokeUserDevices = "user.revoke_devices"
)

// ErrNoDevices: the store cannot hold gateway devices.
var ErrNoDevices = errors.New("this store backend cannot hold gateway devices")

// Device is an enrolled gateway device as the admin API and CLI show it: the stored device
// (never its secret's hash) with its user's current e-mail.
type Device struct {
	store.GatewayDevice
	Email string `json:"email"`
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
	emails := map[string]string{}
	if idOrEmail != "" {
		u, err := s.FindUser(ctx, idOrEmail)
		if err != nil {
			return nil, err
		}
		userID, emails[u.ID] = u.ID, u.Email
	}
	list, err := devs.ListGatewayDevices(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list gateway devices: %w", err)
	}
	out := make([]Device, 0, len(list))
	for _, d := range list {
		email, known := emails[d.UserID]
		if !known {
			u, err := s.Store.GetUser(ctx, d.UserID)
			switch {
			case err == nil:
				email = u.Email
			case !errors.Is(err, store.ErrNotFound):
				return nil, fmt.Errorf("get user: %w", err)
			}
			emails[d.UserID] = email
		}
		out = append(out, Device{GatewayDevice: d, Email: email})
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
		out = &Device{GatewayDevice: *d}
		details["user_id"] = d.UserID
		if u, uerr := s.Store.GetUser(ctx, d.UserID); uerr == nil {
			out.Email = u.Email
		}
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
