// Package devices owns "who is on the proxy": gateway device enrolment. Users enrol a device on
// the auth domain (<prefix>gateway/enroll, behind the policies of the organisation's warp
// application) and get per-device proxy credentials, shown once; the Verifier checks those
// credentials for the gateway (gateway.DeviceVerifier) against the store, with the user's
// current e-mail and groups; revoking a device, or deprovisioning its user, stops it at once.
package devices

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Paths on the auth domain, under the wire prefix.
const (
	// EnrollPath is the enrolment page.
	EnrollPath = "gateway/enroll"
	// CAPath serves the certificates clients must trust (the CA in use and the available
	// ones), in PEM. Public: they are certificates, not keys.
	CAPath = "gateway/ca.pem"
	// PACPrefix serves personal PAC files: PACPrefix + device ID + ".pac".
	PACPrefix = "gateway/pac/"
)

// secretPrefix marks device secrets, so that secret scanners and DLP can recognise one.
const secretPrefix = "gwdev_"

// ErrUnsupported: the store cannot hold gateway devices.
var ErrUnsupported = errors.New("this store backend cannot hold gateway devices")

// Credentials are a new device's proxy credentials: Username is the device ID, Password the
// secret shown once; only SecretSHA256 is stored.
type Credentials struct {
	Username, Password, SecretSHA256 string
}

// NewCredentials returns fresh credentials: a random UUID and 256 random bits.
func NewCredentials() (*Credentials, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, fmt.Errorf("device id: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("device secret: %w", err)
	}
	secret := secretPrefix + base64.RawURLEncoding.EncodeToString(b)
	return &Credentials{Username: id.String(), Password: secret, SecretSHA256: HashSecret(secret)}, nil
}

// HashSecret returns the lower-case hex SHA-256 of a device secret, as stored. The secret has
// 256 random bits, so a fast hash is enough (as for service tokens).
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CleanName returns a device name trimmed of surrounding space, or an error a user can read:
// 1 to store.MaxGatewayDeviceNameLen bytes of valid UTF-8 without control characters.
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", errors.New("give the device a name, for example “Work laptop”")
	case len(name) > store.MaxGatewayDeviceNameLen:
		return "", fmt.Errorf("the name is too long: at most %d characters", store.MaxGatewayDeviceNameLen)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return "", errors.New("the name may not contain control characters")
	}
	return name, nil
}

// Devices returns the store's GatewayDevices capability, or ErrUnsupported.
func Devices(st store.Store) (store.GatewayDevices, error) {
	d, ok := st.(store.GatewayDevices)
	if !ok {
		return nil, ErrUnsupported
	}
	return d, nil
}
