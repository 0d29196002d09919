// Package ca is the secure web gateway's TLS inspection certificate authority: the
// organisation's root CAs and the leaf certificates minted from the one in use.
//
// A Manager generates root CAs (ECDSA P-256, CA:true with path length 0, key usage certificate
// and CRL signing, five years by default as Cloudflare recommends), keeps them in the store with
// the private key sealed under the master key by package keys, and moves them through
// Cloudflare Gateway's lifecycle: inactive, available (published for clients to install) and in
// use (signs the leaf certificates), with at most ten available and exactly one in use once one
// was activated. Export returns the certificate only; the private key never leaves the store
// except decrypted into an Authority, whose formatting and JSON show only public data.
//
// A Minter turns the Authority in use into tls.Config's GetCertificate: per SNI (host name or
// IP address) it mints an ECDSA P-256 leaf with the name as its only SAN, a short validity
// backdated an hour for clock skew, a random 128-bit serial and ServerAuth usage. Leaves live in a
// bounded LRU cache and are minted again before they expire; concurrent requests for one name
// share one mint, and a slow mint never holds a lock that other names need.
//
// Manager.Follow keeps a Minter on the CA in use, reloading it when the store reports a keys
// change (activation by another replica or by the CLI included).
package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Validity bounds of a root CA. Cloudflare recommends five years.
const (
	DefaultValidity = 5 * 365 * 24 * time.Hour
	MinValidity     = 30 * 24 * time.Hour
	MaxValidity     = 20 * 365 * 24 * time.Hour
)

// clockSkew is how far certificates are backdated, for clients whose clocks run behind.
const clockSkew = time.Hour

// Errors a caller can tell apart (errors.Is). Their text is meant for users.
var (
	// ErrNotFound: no CA has that ID.
	ErrNotFound = errors.New("no gateway CA has this ID")
	// ErrNoCAInUse: no CA is in use, so TLS cannot be inspected.
	ErrNoCAInUse = errors.New("no gateway CA is in use; generate one with `gatehouse gateway ca generate --activate` or activate one")
	// ErrState: the state change is not allowed (see store.GatewayCAs.SetGatewayCAState).
	ErrState = errors.New("gateway CA state change not allowed")
	// ErrUnsupported: the store cannot hold gateway CAs.
	ErrUnsupported = errors.New("this store backend cannot hold gateway CAs")
)

// Options configures a Manager.
type Options struct {
	// Organization names the organisation in the CA's subject ("Gatehouse Gateway CA <org>").
	Organization string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Manager generates, lists, activates and exports the gateway CAs in a store. It is safe for
// concurrent use.
type Manager struct {
	st     store.GatewayCAs
	sealer *keys.Sealer
	org    string
	now    func() time.Time
}

// NewManager returns a Manager for the CAs in st, their keys sealed under masterKey.
func NewManager(st store.Store, masterKey []byte, opts Options) (*Manager, error) {
	g, ok := st.(store.GatewayCAs)
	if !ok {
		return nil, ErrUnsupported
	}
	sealer, err := keys.NewSealer(masterKey, keys.PurposeGatewayCA)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Manager{st: g, sealer: sealer, org: strings.TrimSpace(opts.Organization), now: now}, nil
}

// String hides the sealing key.
func (m *Manager) String() string { return "ca.Manager" }

// GoString hides the sealing key.
func (m *Manager) GoString() string { return m.String() }

// Info is what may be shown about a CA: everything but its private key.
type Info struct {
	ID          string    `json:"id"`
	State       string    `json:"state"`
	Subject     string    `json:"subject"`
	Fingerprint string    `json:"fingerprint"` // hex SHA-256 of the certificate DER
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// CertificatePEM is the public certificate, to install in trust stores.
	CertificatePEM string `json:"certificate_pem"`
}

func infoOf(c *store.GatewayCA) (*Info, error) {
	cert, err := parseCertificate(c.CertificatePEM)
	if err != nil {
		return nil, fmt.Errorf("gateway CA %s: %w", c.ID, err)
	}
	return &Info{
		ID: c.ID, State: c.State, Subject: cert.Subject.CommonName, Fingerprint: c.Fingerprint,
		NotBefore: cert.NotBefore.UTC(), NotAfter: cert.NotAfter.UTC(), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		CertificatePEM: c.CertificatePEM,
	}, nil
}

func parseCertificate(certPEM string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("stored certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse stored certificate: %w", err)
	}
	return cert, nil
}

// Fingerprint returns the lower-case hex SHA-256 of a certificate's DER.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// ParseValidity reads a CA validity: a Go duration ("43800h") or a whole number of years
// ("5y"), days ("1825d") or weeks. It must lie within [MinValidity, MaxValidity].
func ParseValidity(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	unit := map[byte]time.Duration{'y': 365 * 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'd': 24 * time.Hour}
	if n := len(s); n > 1 && unit[s[n-1]] != 0 {
		v, ok := new(big.Int).SetString(s[:n-1], 10)
		if !ok || v.Sign() <= 0 {
			return 0, fmt.Errorf("validity %q: want a positive whole number before %q, e.g. 5y", s, s[n-1:])
		}
		// Larger counts are out of range anyway; bounding them first keeps the product from
		// overflowing into range.
		if limit := big.NewInt(int64(MaxValidity/unit[s[n-1]]) + 1); v.Cmp(limit) > 0 {
			v = limit
		}
		d = time.Duration(v.Int64()) * unit[s[n-1]]
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("validity %q: want a duration such as 5y, 1825d or 43800h", s)
		}
	}
	return d, checkValidity(d)
}

func checkValidity(d time.Duration) error {
	if d < MinValidity || d > MaxValidity {
		return fmt.Errorf("validity %s is outside %s to %s (%d days to %d years)", d, MinValidity, MaxValidity,
			MinValidity/(24*time.Hour), MaxValidity/(365*24*time.Hour))
	}
	return nil
}

// Generate makes a new root CA valid for validity (0 means DefaultValidity), stores it inactive
// with its key sealed, and returns it.
func (m *Manager) Generate(ctx context.Context, validity time.Duration) (*Info, error) {
	if validity == 0 {
		validity = DefaultValidity
	}
	if err := checkValidity(validity); err != nil {
		return nil, err
	}
	id := uuid.NewString()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	name := "Gatehouse Gateway CA"
	if m.org != "" {
		name += " " + m.org
	}
	subject := pkix.Name{CommonName: name, Organization: []string{"Gatehouse"}}
	if m.org != "" {
		subject.Organization = []string{m.org}
	}
	created := m.now().UTC()
	now := created.Truncate(time.Second) // X.509 times have whole seconds
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: create certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: encode key: %w", err)
	}
	sealed, err := m.sealer.Seal(id, pkcs8)
	clear(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: seal key: %w", err)
	}
	c := &store.GatewayCA{
		ID:                  id,
		Fingerprint:         Fingerprint(der),
		CertificatePEM:      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		PrivateKeyEncrypted: sealed,
		CreatedAt:           created,
		ExpiresAt:           tmpl.NotAfter,
	}
	if err := m.st.CreateGatewayCA(ctx, c); err != nil {
		return nil, fmt.Errorf("gateway CA: store: %w", err)
	}
	return infoOf(c)
}

func randomSerial() (*big.Int, error) {
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("gateway CA: serial: %w", err)
		}
		if n := new(big.Int).SetBytes(b[:]); n.Sign() > 0 {
			return n, nil
		}
	}
}

// List returns every CA, newest first.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	cas, err := m.st.ListGatewayCAs(ctx)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: list: %w", err)
	}
	out := make([]Info, 0, len(cas))
	for i := range cas {
		info, err := infoOf(&cas[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *info)
	}
	return out, nil
}

// Get returns one CA.
func (m *Manager) Get(ctx context.Context, id string) (*Info, error) {
	c, err := m.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return infoOf(c)
}

func (m *Manager) get(ctx context.Context, id string) (*store.GatewayCA, error) {
	c, err := m.st.GetGatewayCA(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("gateway CA: %w", err)
	}
	return c, nil
}

// Activate makes the CA the one in use for TLS inspection; the CA in use before becomes
// available (clients keep trusting it), in one transaction.
func (m *Manager) Activate(ctx context.Context, id string) (*Info, error) {
	return m.SetState(ctx, id, store.GatewayCAInUse)
}

// SetState moves a CA to store.GatewayCAInactive, GatewayCAAvailable or GatewayCAInUse. The
// error wraps ErrState, with the reason, when the store refuses the change.
func (m *Manager) SetState(ctx context.Context, id, state string) (*Info, error) {
	switch state {
	case store.GatewayCAInactive, store.GatewayCAAvailable, store.GatewayCAInUse:
	default:
		return nil, fmt.Errorf("%w: unknown state %q (want %s, %s or %s)", ErrState, state,
			store.GatewayCAInactive, store.GatewayCAAvailable, store.GatewayCAInUse)
	}
	// Read first, so that a refusal names its reason in words rather than the store's.
	cur, err := m.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.State != state {
		switch {
		case cur.State == store.GatewayCAInUse:
			return nil, fmt.Errorf("%w: CA %s is in use; activate another CA first", ErrState, id)
		case state != store.GatewayCAInactive && !cur.ExpiresAt.After(m.now()):
			return nil, fmt.Errorf("%w: CA %s expired on %s", ErrState, id, cur.ExpiresAt.Format(time.DateOnly))
		}
	}
	c, err := m.st.SetGatewayCAState(ctx, id, state)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	case errors.Is(err, store.ErrConflict):
		return nil, fmt.Errorf("%w: CA %s cannot become %s: the CA in use cannot be deactivated, expired CAs cannot be used, and at most %d CAs may be available or in use",
			ErrState, id, state, store.MaxAvailableGatewayCAs)
	case err != nil:
		return nil, fmt.Errorf("gateway CA: %w", err)
	}
	return infoOf(c)
}

// Export returns the CA's certificate in PEM. There is no way to export the private key.
func (m *Manager) Export(ctx context.Context, id string) ([]byte, error) {
	c, err := m.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := parseCertificate(c.CertificatePEM); err != nil {
		return nil, fmt.Errorf("gateway CA %s: %w", id, err)
	}
	return []byte(c.CertificatePEM), nil
}

// TrustBundle returns, in PEM, the certificates clients should trust now: the CA in use first,
// then every available CA (the next one during a rotation, the previous one after it), newest
// first. It is what device enrolment hands out. Empty when no CA is available or in use.
func (m *Manager) TrustBundle(ctx context.Context) ([]byte, error) {
	cas, err := m.st.ListGatewayCAs(ctx)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: list: %w", err)
	}
	var inUse, available []byte
	for _, c := range cas {
		if _, err := parseCertificate(c.CertificatePEM); err != nil {
			return nil, fmt.Errorf("gateway CA %s: %w", c.ID, err)
		}
		switch c.State {
		case store.GatewayCAInUse:
			inUse = append(inUse, c.CertificatePEM...)
		case store.GatewayCAAvailable:
			available = append(available, c.CertificatePEM...)
		}
	}
	return append(inUse, available...), nil
}

// InUse loads and decrypts the CA in use. ErrNoCAInUse when there is none.
func (m *Manager) InUse(ctx context.Context) (*Authority, error) {
	cas, err := m.st.ListGatewayCAs(ctx)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: list: %w", err)
	}
	for i := range cas {
		if cas[i].State == store.GatewayCAInUse {
			return m.authority(&cas[i])
		}
	}
	return nil, ErrNoCAInUse
}

// authority decrypts a stored CA.
func (m *Manager) authority(c *store.GatewayCA) (*Authority, error) {
	cert, err := parseCertificate(c.CertificatePEM)
	if err != nil {
		return nil, fmt.Errorf("gateway CA %s: %w", c.ID, err)
	}
	pkcs8, err := m.sealer.Open(c.ID, c.PrivateKeyEncrypted)
	if err != nil {
		return nil, fmt.Errorf("gateway CA %s: %w", c.ID, err)
	}
	key, err := x509.ParsePKCS8PrivateKey(pkcs8)
	clear(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("gateway CA %s: stored key does not parse", c.ID)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !publicKeysEqual(signer.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("gateway CA %s: stored key does not match its certificate", c.ID)
	}
	return &Authority{id: c.ID, state: c.State, cert: cert, fingerprint: c.Fingerprint, key: signer}, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// Authority is a decrypted CA, able to sign leaf certificates. Formatting it (any fmt verb) or
// encoding it as JSON shows its ID, state, subject and fingerprint only.
type Authority struct {
	id, state, fingerprint string
	cert                   *x509.Certificate
	key                    crypto.Signer
}

// ID returns the CA's ID.
func (a *Authority) ID() string { return a.id }

// Fingerprint returns the hex SHA-256 of the CA certificate.
func (a *Authority) Fingerprint() string { return a.fingerprint }

// Certificate returns the CA certificate (shared; do not modify).
func (a *Authority) Certificate() *x509.Certificate { return a.cert }

func (a *Authority) subject() string {
	if a.cert == nil {
		return ""
	}
	return a.cert.Subject.CommonName
}

// String describes the CA without its key.
func (a *Authority) String() string {
	if a == nil || a.cert == nil {
		return "<no gateway CA>"
	}
	return fmt.Sprintf("gateway CA %s (%s, %s, sha256 %s)", a.id, a.state, a.cert.Subject.CommonName, a.fingerprint)
}

// Format writes String for every verb, so that %#v and %x cannot reach the key. It has a value
// receiver so that a dereferenced Authority formats the same way.
func (a Authority) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }

// MarshalJSON encodes the public description only.
func (a Authority) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID          string `json:"id"`
		State       string `json:"state"`
		Subject     string `json:"subject"`
		Fingerprint string `json:"fingerprint"`
	}{a.id, a.state, a.subject(), a.fingerprint})
}
