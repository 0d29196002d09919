package ca

import (
	"container/list"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Leaf certificate validity bounds and the cache's default size.
const (
	DefaultLeafValidity = 72 * time.Hour
	MinLeafValidity     = 24 * time.Hour
	MaxLeafValidity     = 7 * 24 * time.Hour
	DefaultCacheEntries = 10000
)

// MinterOptions configures a Minter. Zero values take the defaults.
type MinterOptions struct {
	// LeafValidity is how long a minted leaf is valid after now (it is also valid for the hour
	// before, for clients whose clocks run behind); within [MinLeafValidity, MaxLeafValidity],
	// default DefaultLeafValidity. A leaf never outlives its CA.
	LeafValidity time.Duration
	// MaxEntries bounds the cache; the least recently used leaf goes first. Default
	// DefaultCacheEntries.
	MaxEntries int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Minter mints and caches leaf certificates signed by the CA in use. It is safe for concurrent
// use; its GetCertificate fits tls.Config.
type Minter struct {
	validity   time.Duration
	maxEntries int
	now        func() time.Time

	mu      sync.Mutex
	auth    *Authority
	gen     uint64 // bumped when the authority changes, so that mints for the old one are not cached
	entries map[string]*list.Element
	lru     *list.List // of *leafEntry, most recently used first
	flights map[string]*flight
	stats   MinterStats

	// beforeMint, when set (tests), runs in the minting goroutine before it signs.
	beforeMint func(name string)
}

// MinterStats counts what a Minter did.
type MinterStats struct {
	Entries int    // leaves cached now
	Mints   uint64 // leaves minted successfully
	Failed  uint64 // mints that failed
	Hits    uint64 // requests answered from the cache
}

type leafEntry struct {
	name      string
	cert      *tls.Certificate
	refreshAt time.Time // mint a replacement from here on
	useUntil  time.Time // never hand it out from here on
}

// flight is one mint in progress; waiters read cert and err after done is closed.
type flight struct {
	done chan struct{}
	cert *tls.Certificate
	err  error
}

// NewMinter returns a Minter signing with auth (nil: none yet, see SetAuthority).
func NewMinter(auth *Authority, opts MinterOptions) (*Minter, error) {
	if opts.LeafValidity == 0 {
		opts.LeafValidity = DefaultLeafValidity
	}
	if opts.LeafValidity < MinLeafValidity || opts.LeafValidity > MaxLeafValidity {
		return nil, fmt.Errorf("gateway CA: leaf validity %s is outside %s to %s", opts.LeafValidity, MinLeafValidity, MaxLeafValidity)
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = DefaultCacheEntries
	}
	if opts.MaxEntries < 0 {
		return nil, fmt.Errorf("gateway CA: cache size %d is negative", opts.MaxEntries)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Minter{
		validity: opts.LeafValidity, maxEntries: opts.MaxEntries, now: opts.Now,
		auth: auth, entries: map[string]*list.Element{}, lru: list.New(), flights: map[string]*flight{},
	}, nil
}

// SetAuthority switches to another CA (nil: none, every request fails with ErrNoCAInUse) and
// empties the cache. Setting the CA already in use (same ID) changes nothing.
func (m *Minter) SetAuthority(auth *Authority) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if auth == m.auth || (auth != nil && m.auth != nil && auth.id == m.auth.id) {
		return
	}
	m.auth = auth
	m.gen++
	clear(m.entries)
	m.lru.Init()
}

// Authority returns the CA the Minter signs with (nil when none).
func (m *Minter) Authority() *Authority {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.auth
}

// Stats returns the Minter's counters.
func (m *Minter) Stats() MinterStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Entries = m.lru.Len()
	return s
}

// GetCertificate returns the leaf for the ClientHello's server name, for tls.Config.
func (m *Minter) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	ctx := hello.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return m.Certificate(ctx, hello.ServerName)
}

// Certificate returns a leaf certificate for name (a host name or an IP address, see
// NormalizeName), from the cache or freshly minted. Concurrent requests for one name share one
// mint; a cached leaf due for renewal is still returned while its replacement is minted in the
// background. A request that waits for another's mint returns when ctx ends first (the mint
// still completes for the next request); the request that mints does not wait for anyone.
func (m *Minter) Certificate(ctx context.Context, name string) (*tls.Certificate, error) {
	key, ip, err := NormalizeName(name)
	if err != nil {
		return nil, err
	}
	now := m.now()
	m.mu.Lock()
	if m.auth == nil {
		m.mu.Unlock()
		return nil, ErrNoCAInUse
	}
	var stale *tls.Certificate
	if el, ok := m.entries[key]; ok {
		e := el.Value.(*leafEntry)
		if now.Before(e.useUntil) {
			m.lru.MoveToFront(el)
			m.stats.Hits++
			if now.Before(e.refreshAt) {
				m.mu.Unlock()
				return e.cert, nil
			}
			stale = e.cert
		}
	}
	f, inFlight := m.flights[key]
	if !inFlight {
		f = &flight{done: make(chan struct{})}
		m.flights[key] = f
		auth, gen := m.auth, m.gen
		m.mu.Unlock()
		if stale != nil {
			go m.mint(f, key, ip, auth, gen)
			return stale, nil
		}
		// The first request mints on its own goroutine (a mint takes well under a
		// millisecond); later requests for the name wait for it, or for their context.
		m.mint(f, key, ip, auth, gen)
		return f.cert, f.err
	}
	m.mu.Unlock()
	if stale != nil {
		return stale, nil
	}
	select {
	case <-f.done:
		return f.cert, f.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// mint signs a leaf for name and, unless the authority changed meanwhile, caches it.
func (m *Minter) mint(f *flight, name string, ip netip.Addr, auth *Authority, gen uint64) {
	if m.beforeMint != nil {
		m.beforeMint(name)
	}
	now := m.now()
	cert, err := auth.mintLeaf(name, ip, now, m.validity)
	m.mu.Lock()
	delete(m.flights, name)
	if err != nil {
		m.stats.Failed++
	} else {
		m.stats.Mints++
		if gen == m.gen && m.maxEntries > 0 {
			m.store(name, cert, now)
		}
	}
	m.mu.Unlock()
	f.cert, f.err = cert, err
	close(f.done)
}

// store caches cert for name (m.mu held), evicting the least recently used leaves.
func (m *Minter) store(name string, cert *tls.Certificate, now time.Time) {
	notAfter := cert.Leaf.NotAfter
	life := notAfter.Sub(now)
	e := &leafEntry{
		name: name, cert: cert,
		// Renew once two thirds of the remaining life are gone; stop handing it out in the last
		// minutes, so that a client never receives a leaf about to expire.
		refreshAt: now.Add(life * 2 / 3),
		useUntil:  notAfter.Add(-min(5*time.Minute, life/10)),
	}
	if el, ok := m.entries[name]; ok {
		el.Value = e
		m.lru.MoveToFront(el)
		return
	}
	m.entries[name] = m.lru.PushFront(e)
	for m.lru.Len() > m.maxEntries {
		old := m.lru.Back()
		m.lru.Remove(old)
		delete(m.entries, old.Value.(*leafEntry).name)
	}
}

// errCAExpired: the CA in use can no longer sign anything valid.
var errCAExpired = errors.New("the gateway CA in use has expired; generate and activate a new one")

// mintLeaf signs a new leaf certificate for name (already normalised; ip set for addresses).
func (a *Authority) mintLeaf(name string, ip netip.Addr, now time.Time, validity time.Duration) (*tls.Certificate, error) {
	notBefore := now.Add(-clockSkew)
	if notBefore.Before(a.cert.NotBefore) {
		notBefore = a.cert.NotBefore
	}
	notAfter := now.Add(validity)
	if notAfter.After(a.cert.NotAfter) {
		notAfter = a.cert.NotAfter
	}
	if !notAfter.After(now.Add(time.Minute)) {
		return nil, errCAExpired
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: generate leaf key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if ip.IsValid() {
		tmpl.IPAddresses = []net.IP{ip.AsSlice()}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: sign leaf for %q: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("gateway CA: parse leaf for %q: %w", name, err)
	}
	return &tls.Certificate{Certificate: [][]byte{der, a.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}
