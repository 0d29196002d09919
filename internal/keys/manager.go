// Package keys owns Gatehouse's token signing keys. Keys are RSA-2048, generated here and sealed
// with AES-256-GCM under a key derived from the master key before they reach the store; they
// rotate on a schedule through the store's compare-and-swap, so that any number of replicas
// rotate exactly once; and they are published as the certs document (JWKS plus PEM
// certificates) in Cloudflare Access's shape. Callers get a crypto.Signer bound to RS256, never
// the private key.
//
// A Manager keeps the decrypted keys in an immutable set behind an atomic pointer: Signer,
// PublicKey and CertsJSON never touch the store and are safe on the request path.
package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Defaults follow Cloudflare Access: a new key every 6 weeks, the previous key published and
// verifying for 7 more days.
const (
	DefaultRotationInterval = 1008 * time.Hour
	DefaultOverlap          = 168 * time.Hour
)

// maxRotateAttempts bounds Rotate's retries when other replicas keep winning the swap.
const maxRotateAttempts = 3

// ErrNoCurrentKey is returned when the store holds no usable current key, or before a
// successful Load.
var ErrNoCurrentKey = errors.New("keys: no current signing key")

// Options configures a Manager. Zero values take the documented defaults.
type Options struct {
	// Issuer is the auth domain URL (the tokens' iss); its host is the common name of each key's
	// self-signed certificate. Required.
	Issuer string
	// RotationInterval is how long a key stays current. Default DefaultRotationInterval.
	RotationInterval time.Duration
	// Overlap is how long a rotated-out key stays published and keeps verifying. It must be at
	// least the longest token lifetime (security rule 9). Default DefaultOverlap.
	Overlap time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Use selects the store's key set this Manager owns (store.SigningKey.Use): "" for
	// Gatehouse's tokens, store.SigningKeyUseSaaSSAML for SaaS SAML assertions.
	Use string
	// ManualOnly turns scheduled rotation off: RotateIfDue never rotates and keys change only
	// through Rotate. For keys that relying parties pin (SAML service providers keep the IdP
	// certificate they were given). Certificates are then valid for manualCertValidity.
	ManualOnly bool
	// Rand supplies nonces and certificate serial numbers. Default crypto/rand.Reader. RSA key
	// generation always uses the crypto library's own source (Go 1.26 ignores a custom reader).
	Rand io.Reader
}

// ForUse returns o set up for the key set of use: "" (Gatehouse's tokens) rotates on o's
// schedule; the SAML uses (store.SigningKeyUseSaaSSAML, SigningKeyUseSAMLEncryption,
// SigningKeyUseSAMLSP) rotate by hand only, since the other party pins their certificates.
func (o Options) ForUse(use string) (Options, error) {
	switch use {
	case "":
	case store.SigningKeyUseSaaSSAML, store.SigningKeyUseSAMLEncryption, store.SigningKeyUseSAMLSP:
		o.ManualOnly = true
	default:
		return o, fmt.Errorf("keys: unknown key use %q", use)
	}
	o.Use = use
	return o, nil
}

// Manager holds the signing keys of one replica. It is safe for concurrent use.
type Manager struct {
	st   store.Store
	aead cipher.AEAD
	opts Options
	host string

	mu  sync.Mutex // serializes store reads and rotations so an older read never wins
	set atomic.Pointer[keySet]
}

// keySet is an immutable view of the published keys.
type keySet struct {
	current *entry
	all     []*entry // current first, then rotated-out keys, most recently rotated out first
	byKID   map[string]*entry
	certs   []byte
	// nextRetire is the earliest RetireAt among rotated-out keys (zero when there are none):
	// the certs document must be rebuilt then.
	nextRetire time.Time
}

// NewManager returns a Manager for the keys in st, sealed under masterKey (MasterKeySize bytes).
// Call Load before use.
func NewManager(st store.Store, masterKey []byte, opts Options) (*Manager, error) {
	if st == nil {
		return nil, errors.New("keys: nil store")
	}
	aead, err := newSealer(masterKey)
	if err != nil {
		return nil, err
	}
	host, err := issuerHost(opts.Issuer)
	if err != nil {
		return nil, err
	}
	if opts.RotationInterval < 0 || opts.Overlap < 0 {
		return nil, errors.New("keys: negative rotation interval or overlap")
	}
	if opts.RotationInterval == 0 {
		opts.RotationInterval = DefaultRotationInterval
	}
	if opts.Overlap == 0 {
		opts.Overlap = DefaultOverlap
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	return &Manager{st: st, aead: aead, opts: opts, host: host}, nil
}

func issuerHost(issuer string) (string, error) {
	if strings.TrimSpace(issuer) == "" {
		return "", errors.New("keys: Options.Issuer is required")
	}
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		return u.Hostname(), nil
	}
	if strings.ContainsAny(issuer, "/ \t\r\n") {
		return "", fmt.Errorf("keys: Options.Issuer %q is neither a URL nor a host name", issuer)
	}
	return issuer, nil
}

// Load reads the keys from the store and decrypts them. When the store has no current key it
// creates the first one; if another replica does so at the same time, Load uses theirs.
// Any key that does not decrypt or does not match its kid and certificate fails Load.
func (m *Manager) Load(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	sks, err := m.readKeys(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(sks, func(k store.SigningKey) bool { return k.RetireAt.IsZero() }) {
		next, err := m.generate()
		if err != nil {
			return err
		}
		err = m.st.RotateSigningKey(ctx, "", next, m.opts.Overlap)
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("keys: store first signing key: %w", err)
		}
		// On ErrConflict a racing replica stored its key first; use that one.
		if sks, err = m.readKeys(ctx); err != nil {
			return err
		}
	}
	return m.install(sks)
}

// Reload re-reads the keys from the store, typically after a store.Change with Keys set. On error
// the previous keys stay in use.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reloadLocked(ctx)
}

func (m *Manager) reloadLocked(ctx context.Context) error {
	sks, err := m.readKeys(ctx)
	if err != nil {
		return err
	}
	return m.install(sks)
}

// readKeys returns the store's keys of this Manager's use.
func (m *Manager) readKeys(ctx context.Context) ([]store.SigningKey, error) {
	all, err := m.st.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: read signing keys: %w", err)
	}
	return slices.DeleteFunc(all, func(k store.SigningKey) bool { return k.Use != m.opts.Use }), nil
}

// RotateIfDue re-reads the keys from the store and rotates when the current key is
// RotationInterval old or older. Call it on a timer (say, every minute) on every replica: the
// store's compare-and-swap lets exactly one replica rotate, and the re-read brings every replica
// to the current key within one tick, even one that missed a store.Change (after a manual Rotate
// elsewhere, for instance). rotated reports whether this call rotated; it can be true together
// with an error when re-reading the keys after the rotation failed. Load must have succeeded.
func (m *Manager) RotateIfDue(ctx context.Context) (rotated bool, err error) {
	if m.set.Load() == nil {
		return false, ErrNoCurrentKey
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Decide on the store's state: another replica may have rotated already.
	if err := m.reloadLocked(ctx); err != nil {
		return false, err
	}
	ks := m.set.Load()
	if !m.due(ks) {
		return false, nil
	}
	next, err := m.generate()
	if err != nil {
		return false, err
	}
	switch err := m.st.RotateSigningKey(ctx, ks.current.kid, next, m.opts.Overlap); {
	case errors.Is(err, store.ErrConflict):
		return false, m.reloadLocked(ctx)
	case err != nil:
		return false, fmt.Errorf("keys: rotate signing key: %w", err)
	}
	if err := m.reloadLocked(ctx); err != nil {
		return true, fmt.Errorf("keys: rotated to %s: %w", next.ID, err)
	}
	return true, nil
}

func (m *Manager) due(ks *keySet) bool {
	return !m.opts.ManualOnly && m.opts.Now().Sub(ks.current.created) >= m.opts.RotationInterval
}

// Rotate makes a new key current now (manual rotation); the current key is rotated out with the
// usual overlap. If other replicas rotate at the same moment it retries a few times, so the new
// current key is always newer than the call.
func (m *Manager) Rotate(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next, err := m.generate()
	if err != nil {
		return err
	}
	for range maxRotateAttempts {
		if err = m.reloadLocked(ctx); err != nil {
			return err
		}
		attempt := *next
		err = m.st.RotateSigningKey(ctx, m.set.Load().current.kid, &attempt, m.opts.Overlap)
		if !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("keys: rotate signing key: %w", err)
	}
	if err := m.reloadLocked(ctx); err != nil {
		return fmt.Errorf("keys: rotated to %s: %w", next.ID, err)
	}
	return nil
}

// manualCertValidity is how long the certificate of a key that rotates only by hand is valid.
const manualCertValidity = 10 * 365 * 24 * time.Hour

// generate creates a sealed key; the certificate outlives any sensible stay in the key set.
func (m *Manager) generate() (*store.SigningKey, error) {
	validity := 2 * (m.opts.RotationInterval + m.opts.Overlap)
	if m.opts.ManualOnly {
		validity = manualCertValidity
	}
	k, err := generate(m.aead, m.opts.Rand, m.host, m.opts.Now(), validity)
	if err != nil {
		return nil, err
	}
	k.Use = m.opts.Use
	return k, nil
}

// Signer returns the current key, bound to RS256, and its kid; nil and "" before Load.
func (m *Manager) Signer() (crypto.Signer, string) {
	ks := m.set.Load()
	if ks == nil {
		return nil, ""
	}
	return ks.current.signer, ks.current.kid
}

// Decrypters returns the private keys of a Manager whose Use is
// store.SigningKeyUseSAMLEncryption, current first, then rotated-out keys still published (an
// IdP may still encrypt to them); nil for every other use, so that a signing key never
// decrypts.
func (m *Manager) Decrypters() []crypto.Decrypter {
	ks := m.set.Load()
	if ks == nil || m.opts.Use != store.SigningKeyUseSAMLEncryption {
		return nil
	}
	now := m.opts.Now()
	var out []crypto.Decrypter
	for _, e := range ks.all {
		if e.retireAt.IsZero() || now.Before(e.retireAt) {
			out = append(out, e.priv)
		}
	}
	return out
}

// PublicKey returns the public key for kid if it is published: the current key, or a rotated-out
// key before its RetireAt. A rotated-out key stops verifying exactly at RetireAt by this
// Manager's clock, whether or not the store has been re-read.
func (m *Manager) PublicKey(kid string) (*rsa.PublicKey, bool) {
	ks := m.set.Load()
	if ks == nil {
		return nil, false
	}
	e := ks.byKID[kid]
	if e == nil || (!e.retireAt.IsZero() && !m.opts.Now().Before(e.retireAt)) {
		return nil, false
	}
	return e.pub, true
}

// NextRotation returns when RotateIfDue will next rotate; zero before Load and with ManualOnly.
func (m *Manager) NextRotation() time.Time {
	ks := m.set.Load()
	if ks == nil || m.opts.ManualOnly {
		return time.Time{}
	}
	return ks.current.created.Add(m.opts.RotationInterval)
}

// CertsJSON returns the certs document: {"keys": [JWK...], "public_cert": {kid, cert},
// "public_certs": [{kid, cert}...]} with the current key first, exactly as Cloudflare Access
// serves it at /cdn-cgi/access/certs. The document is built once per key change (including a
// rotated-out key reaching its RetireAt) and shared: callers must not modify it. Nil before Load.
func (m *Manager) CertsJSON() []byte {
	for {
		ks := m.set.Load()
		if ks == nil {
			return nil
		}
		now := m.opts.Now()
		if ks.nextRetire.IsZero() || now.Before(ks.nextRetire) {
			return ks.certs
		}
		pruned, err := newKeySet(ks.all, now)
		if err != nil {
			// Cannot happen (the same entries built ks); PublicKey still refuses retired keys.
			return ks.certs
		}
		if m.set.CompareAndSwap(ks, pruned) {
			return pruned.certs
		}
	}
}

// install decrypts the store's keys (reusing entries already decrypted) and publishes them.
func (m *Manager) install(sks []store.SigningKey) error {
	old := m.set.Load()
	entries := make([]*entry, 0, len(sks))
	for i := range sks {
		sk := &sks[i]
		if oe := old.lookup(sk.ID); oe != nil && sk.Algorithm == Algorithm &&
			bytes.Equal(oe.sealed, sk.PrivateKeyEncrypted) && oe.storedCert == sk.CertificatePEM {
			e := *oe
			e.created, e.retireAt = sk.CreatedAt, sk.RetireAt
			entries = append(entries, &e)
			continue
		}
		e, err := decode(m.aead, sk)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	ks, err := newKeySet(entries, m.opts.Now())
	if err != nil {
		return err
	}
	m.set.Store(ks)
	return nil
}

func (ks *keySet) lookup(kid string) *entry {
	if ks == nil {
		return nil
	}
	return ks.byKID[kid]
}

// newKeySet builds the set of entries still published at now.
func newKeySet(entries []*entry, now time.Time) (*keySet, error) {
	ks := &keySet{byKID: make(map[string]*entry, len(entries))}
	var retiring []*entry
	for _, e := range entries {
		if !e.retireAt.IsZero() && !now.Before(e.retireAt) {
			continue
		}
		if ks.byKID[e.kid] != nil {
			return nil, fmt.Errorf("keys: signing key %s appears twice", e.kid)
		}
		ks.byKID[e.kid] = e
		if !e.retireAt.IsZero() {
			retiring = append(retiring, e)
			if ks.nextRetire.IsZero() || e.retireAt.Before(ks.nextRetire) {
				ks.nextRetire = e.retireAt
			}
			continue
		}
		if ks.current != nil {
			return nil, fmt.Errorf("keys: store holds two current signing keys (%s, %s)", ks.current.kid, e.kid)
		}
		ks.current = e
	}
	if ks.current == nil {
		return nil, ErrNoCurrentKey
	}
	// The most recently rotated-out key first: it retires last.
	slices.SortStableFunc(retiring, func(a, b *entry) int {
		if c := b.retireAt.Compare(a.retireAt); c != 0 {
			return c
		}
		return b.created.Compare(a.created)
	})
	ks.all = append([]*entry{ks.current}, retiring...)
	certs, err := certsJSON(ks.all)
	if err != nil {
		return nil, err
	}
	ks.certs = certs
	return ks, nil
}

// Certificate returns the current key's self-signed certificate (published in SAML metadata for
// signed AuthnRequests); nil before Load.
func (m *Manager) Certificate() *x509.Certificate {
	ks := m.set.Load()
	if ks == nil {
		return nil
	}
	block, _ := pem.Decode([]byte(ks.current.certPEM))
	if block == nil {
		return nil
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil
	}
	return cert
}

// Certificates returns the self-signed certificates of every published key: the current key's
// first, then each rotated-out key still inside its overlap, most recently rotated out first
// (the order of public_certs). SAML IdP metadata lists them all. Like PublicKey, a rotated-out
// key drops out exactly at its RetireAt by this Manager's clock. The certificates are shared:
// callers must not modify them. Nil before Load.
func (m *Manager) Certificates() []*x509.Certificate {
	ks := m.set.Load()
	if ks == nil {
		return nil
	}
	now := m.opts.Now()
	out := make([]*x509.Certificate, 0, len(ks.all))
	for _, e := range ks.all {
		if e.retireAt.IsZero() || now.Before(e.retireAt) {
			out = append(out, e.cert)
		}
	}
	return out
}
