package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
)

// maxRevokeBatch bounds the device IDs of one POST /devices/revoke.
const maxRevokeBatch = 100

// listDevices serves GET /api/v1/devices[?user=ID|EMAIL]: enrolled gateway devices, oldest
// first, paginated.
func (a *API) listDevices(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(100)
	user := p.str("user")
	if p.err != nil {
		return nil, nil, p.err
	}
	devs, err := a.svc.ListDevices(r.Context(), user)
	if err != nil {
		return nil, nil, err
	}
	out, info := paginate(devs, page, perPage)
	return out, info, nil
}

// revokeDevice serves POST /api/v1/devices/{id}/revoke.
func (a *API) revokeDevice(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	d, err := a.svc.RevokeDevice(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	return d, nil, nil
}

// revokeDevices serves POST /api/v1/devices/revoke with Cloudflare's body: a JSON array of
// device IDs (at most maxRevokeBatch). Unknown IDs fail the request with 404 before anything
// is revoked.
func (a *API) revokeDevices(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	var ids []string
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&ids); err != nil || dec.More() {
		return nil, nil, fmt.Errorf("%w: the body must be a JSON array of device IDs", ErrInvalid)
	}
	if len(ids) == 0 || len(ids) > maxRevokeBatch {
		return nil, nil, fmt.Errorf("%w: send between 1 and %d device IDs", ErrInvalid, maxRevokeBatch)
	}
	devs, err := a.svc.devices()
	if err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		if _, err := devs.GetGatewayDevice(r.Context(), id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, nil, fmt.Errorf("gateway device %q: %w", id, ErrNotFound)
			}
			return nil, nil, fmt.Errorf("get gateway device: %w", err)
		}
	}
	out := make([]*Device, 0, len(ids))
	for _, id := range ids {
		d, err := a.svc.RevokeDevice(r.Context(), actor, id)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, d)
	}
	return out, &ResultInfo{Page: 1, PerPage: len(out), Count: len(out), TotalCount: len(out)}, nil
}

// revokeUserDevices serves POST /api/v1/users/{id}/revoke_devices.
func (a *API) revokeUserDevices(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	u, n, err := a.svc.RevokeUserDevices(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	return map[string]any{"id": u.ID, "email": u.Email, "devices_revoked": n}, nil, nil
}
