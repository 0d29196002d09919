package devices

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Reasons a device credential is refused.
const (
	ReasonDeviceUnknown = "device-unknown"
	ReasonDeviceRevoked = "device-revoked"
	ReasonUserUnknown   = "device-user-unknown"
	ReasonUserInactive  = "device-user-inactive"
)

// Verifier defaults.
const (
	// DefaultUserTTL bounds how long a user's e-mail, groups and status are reused without
	// asking the store. Every store revocation (device or session revocation, SCIM
	// deprovisioning) drops the cache at once (Invalidate); the TTL bounds the staleness of
	// other changes, such as groups updated by SCIM.
	DefaultUserTTL = 10 * time.Second
	// DefaultDeviceTTL bounds how long a device's stored state (its secret's hash, its
	// revocation) is reused without asking the store. Invalidate drops it on every revocation
	// change; the TTL only matters when a change notification is lost.
	DefaultDeviceTTL = 10 * time.Second
	// DefaultTouchInterval is how often last-seen times are written, in one batch.
	DefaultTouchInterval = 30 * time.Second
	// maxCachedUsers and maxPendingTouches bound the verifier's memory.
	maxCachedUsers    = 10_000
	maxCachedDevices  = 100_000
	maxPendingTouches = 100_000
)

// VerifierOptions configures a Verifier.
type VerifierOptions struct {
	// UserTTL: DefaultUserTTL when zero; negative disables the user cache.
	UserTTL time.Duration
	// DeviceTTL: DefaultDeviceTTL when zero; negative disables the device cache (every check
	// reads the device from the store).
	DeviceTTL time.Duration
	// TouchInterval: DefaultTouchInterval when zero.
	TouchInterval time.Duration
	Log           *slog.Logger
	Now           func() time.Time
}

// Verifier implements gateway.DeviceVerifier against the store. Devices and their users
// (current e-mail, groups, status) are cached for a few seconds, and the whole cache is dropped
// on every revocation the store reports (Invalidate): this process's revocations (the
// enrolment page, the admin API, SCIM) invalidate before they answer, so they take effect on
// the very next request; other processes' (the CLI, other replicas) as soon as their change
// notification arrives. Unknown devices are never cached. Last-seen times are coalesced in
// memory and written in one batch per TouchInterval, never once per request. Safe for
// concurrent use.
type Verifier struct {
	st        store.Store
	devices   store.GatewayDevices
	ttl       time.Duration
	deviceTTL time.Duration
	touch     time.Duration
	log       *slog.Logger
	now       func() time.Time

	mu    sync.Mutex
	gen   uint64 // bumped by Invalidate; a load started under an older one is not cached
	users map[string]cachedUser
	devs  map[string]cachedDevice
	seen  map[string]time.Time
	// lastTouch is when the last batch of last-seen times was started.
	lastTouch time.Time
	touching  atomic.Bool
	flushWG   sync.WaitGroup
}

type cachedDevice struct {
	d       *store.GatewayDevice
	fetched time.Time
}

type cachedUser struct {
	user    *store.User
	ident   identity.Identity
	fetched time.Time
}

var _ gateway.DeviceVerifier = (*Verifier)(nil)

// NewVerifier returns a Verifier for the devices in st; ErrUnsupported when st cannot hold them.
func NewVerifier(st store.Store, opts VerifierOptions) (*Verifier, error) {
	d, err := Devices(st)
	if err != nil {
		return nil, err
	}
	v := &Verifier{st: st, devices: d, ttl: opts.UserTTL, deviceTTL: opts.DeviceTTL, touch: opts.TouchInterval, log: opts.Log,
		now: opts.Now, users: map[string]cachedUser{}, devs: map[string]cachedDevice{}, seen: map[string]time.Time{}}
	if v.ttl == 0 {
		v.ttl = DefaultUserTTL
	}
	if v.deviceTTL == 0 {
		v.deviceTTL = DefaultDeviceTTL
	}
	if v.touch <= 0 {
		v.touch = DefaultTouchInterval
	}
	if v.log == nil {
		v.log = slog.Default()
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.lastTouch = v.now()
	return v, nil
}

// deviceIDLen is the length of a device ID, a UUID in its canonical form.
const deviceIDLen = 36

// dummyHash is compared against when the device is unknown, so that an unknown username costs
// the same as a wrong password.
var dummyHash = HashSecret("gatehouse-no-such-device")

// VerifyDevice checks a device's proxy credentials: the username is the device ID, the password
// its secret. It returns the identity with the user's current e-mail and groups, or nil and the
// reason: device-unknown, proxy-credentials-invalid (wrong secret; a revoked device with a wrong
// secret says so too, so that the state of a device is only told to who holds its secret),
// device-revoked, device-user-unknown, device-user-inactive. An error means the store could not
// answer; the gateway then fails closed.
func (v *Verifier) VerifyDevice(ctx context.Context, username, password string) (*gateway.Identity, string, error) {
	sum := sha256.Sum256([]byte(password))
	var (
		d   *store.GatewayDevice
		err error
	)
	if len(username) == deviceIDLen {
		d, err = v.device(ctx, username)
	} else {
		// Not a device ID (a UUID): no store read for it.
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		want, _ := hex.DecodeString(dummyHash)
		_ = subtle.ConstantTimeCompare(sum[:], want)
		return nil, ReasonDeviceUnknown, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("load gateway device: %w", err)
	}
	want, err := hex.DecodeString(d.SecretSHA256)
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return nil, gateway.ReasonCredentialsInvalid, nil
	}
	if d.Revoked() {
		return nil, ReasonDeviceRevoked, nil
	}
	u, ident, err := v.user(ctx, d.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ReasonUserUnknown, nil
	}
	if err != nil {
		return nil, "", err
	}
	if u.Status != "" && u.Status != store.UserActive {
		return nil, ReasonUserInactive, nil
	}
	id := &gateway.Identity{UserID: u.ID, Email: u.Email, DeviceID: d.ID, Name: ident.Name, IdP: ident.IdP.ID,
		SAMLAttributes: ident.SAMLAttributes}
	if id.Name == "" {
		id.Name = u.Name
	}
	for _, g := range ident.Groups {
		name := g.Name
		if name == "" {
			name = g.ID
		}
		id.Groups = append(id.Groups, name)
		if g.ID != "" {
			id.GroupIDs = append(id.GroupIDs, g.ID)
		}
		if g.Email != "" {
			id.GroupEmails = append(id.GroupEmails, g.Email)
		}
	}
	v.seenNow(d.ID)
	return id, "", nil
}

// device returns a device, from the cache when it is fresh.
func (v *Verifier) device(ctx context.Context, id string) (*store.GatewayDevice, error) {
	now := v.now()
	v.mu.Lock()
	c, hit := v.devs[id]
	gen := v.gen
	v.mu.Unlock()
	if hit && v.deviceTTL > 0 && now.Sub(c.fetched) < v.deviceTTL && !now.Before(c.fetched) {
		return c.d, nil
	}
	d, err := v.devices.GetGatewayDevice(ctx, id)
	if err != nil {
		return nil, err
	}
	if v.deviceTTL > 0 {
		v.mu.Lock()
		if v.gen == gen {
			if len(v.devs) >= maxCachedDevices {
				clear(v.devs)
			}
			v.devs[id] = cachedDevice{d: d, fetched: now}
		}
		v.mu.Unlock()
	}
	return d, nil
}

// user returns the user with its current identity: the last-seen identity with the groups SCIM
// provisioning by that identity's IdP gives the user, and the registry's e-mail.
func (v *Verifier) user(ctx context.Context, id string) (*store.User, *identity.Identity, error) {
	now := v.now()
	v.mu.Lock()
	c, hit := v.users[id]
	gen := v.gen
	v.mu.Unlock()
	if hit && v.ttl > 0 && now.Sub(c.fetched) < v.ttl && !now.Before(c.fetched) {
		return c.user, &c.ident, nil
	}
	u, err := v.st.GetUser(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("load device user: %w", err)
	}
	var ident identity.Identity
	if len(u.LastSeen.Identity) > 0 {
		if err := json.Unmarshal(u.LastSeen.Identity, &ident); err != nil {
			// The e-mail and status still decide; groups are unknown.
			v.log.WarnContext(ctx, "gateway device user: last-seen identity unreadable; no groups", "user", u.ID, "err", err)
			ident = identity.Identity{}
		}
	}
	session.MergeSCIMGroups(&ident, u)
	if v.ttl > 0 {
		v.mu.Lock()
		if v.gen == gen {
			if len(v.users) >= maxCachedUsers {
				clear(v.users)
			}
			v.users[id] = cachedUser{user: u, ident: ident, fetched: now}
		}
		v.mu.Unlock()
	}
	return u, &ident, nil
}

// Invalidate drops every cached device and user; the composition root calls it on every
// revocation change the store reports (this process's or another's) and on its periodic full
// reload.
func (v *Verifier) Invalidate() {
	v.mu.Lock()
	v.gen++
	clear(v.users)
	clear(v.devs)
	v.mu.Unlock()
}

// seenNow records that the device was just used and, once per TouchInterval, writes the
// recorded times in the background.
func (v *Verifier) seenNow(id string) {
	now := v.now()
	v.mu.Lock()
	if len(v.seen) < maxPendingTouches {
		v.seen[id] = now
	}
	due := now.Sub(v.lastTouch) >= v.touch
	v.mu.Unlock()
	if due && v.touching.CompareAndSwap(false, true) {
		v.flushWG.Add(1)
		go func() {
			defer v.flushWG.Done()
			defer v.touching.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := v.Flush(ctx); err != nil {
				v.log.Warn("gateway devices: record last seen", "err", err)
			}
		}()
	}
}

// Flush writes the recorded last-seen times now (Close calls it). A failed batch is kept for
// the next one, unless newer times replaced it.
func (v *Verifier) Flush(ctx context.Context) error {
	v.mu.Lock()
	batch := v.seen
	v.seen = map[string]time.Time{}
	v.lastTouch = v.now()
	v.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := v.devices.TouchGatewayDevices(ctx, batch); err != nil {
		v.mu.Lock()
		for id, t := range batch {
			if cur, ok := v.seen[id]; (!ok || cur.Before(t)) && len(v.seen) < maxPendingTouches {
				v.seen[id] = t
			}
		}
		v.mu.Unlock()
		return err
	}
	return nil
}

// Close waits for a background write and writes what is left.
func (v *Verifier) Close(ctx context.Context) error {
	v.flushWG.Wait()
	return v.Flush(ctx)
}
