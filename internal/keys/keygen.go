package keys

import (
	"bytes"
	"crypto"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const (
	// Algorithm is the only JWS algorithm Gatehouse signing keys are used with.
	Algorithm = "RS256"
	// KeyBits is the RSA modulus size of new signing keys.
	KeyBits = 2048
	// minCertValidity is the shortest validity given to a key's self-signed certificate; it only
	// carries the public key, but some consumers of public_cert check the dates.
	minCertValidity = 5 * 365 * 24 * time.Hour
)

// entry is one decrypted signing key. Entries are immutable once built.
type entry struct {
	kid      string
	priv     *rsa.PrivateKey
	pub      *rsa.PublicKey
	signer   crypto.Signer
	cert     *x509.Certificate // parsed certPEM; shared, never modified
	certPEM  string
	created  time.Time
	retireAt time.Time // zero for the current key

	// sealed and storedCert are the store's bytes, to reuse the entry across reloads.
	sealed     []byte
	storedCert string
}

// KeyID returns the kid of an RSA public key: the lower-case hex SHA-256 of its
// SubjectPublicKeyInfo DER.
func KeyID(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("keys: marshal public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// generate creates a new RSA key, its kid and self-signed certificate, and seals the private key.
func generate(aead cipher.AEAD, random io.Reader, host string, now time.Time, validity time.Duration) (*store.SigningKey, error) {
	// Since Go 1.26 crypto/rsa always draws from its own secure source here.
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("keys: generate RSA key: %w", err)
	}
	kid, err := KeyID(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	validity = max(validity, minCertValidity)
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: host},
		NotBefore:             now.Add(-time.Hour), // tolerate clock skew of certificate checkers
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	certDER, err := x509.CreateCertificate(random, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("keys: create certificate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("keys: marshal private key: %w", err)
	}
	sealed, err := seal(aead, random, kid, der)
	clear(der)
	if err != nil {
		return nil, err
	}
	return &store.SigningKey{
		ID:                  kid,
		Algorithm:           Algorithm,
		PrivateKeyEncrypted: sealed,
		CertificatePEM:      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})),
		CreatedAt:           now.UTC().Truncate(time.Microsecond),
	}, nil
}

// decode decrypts a stored key and checks that every part agrees: algorithm, kid, private key
// and certificate. A row written by someone without the master key never becomes a trusted key.
func decode(aead cipher.AEAD, sk *store.SigningKey) (*entry, error) {
	if sk.Algorithm != Algorithm {
		return nil, fmt.Errorf("keys: signing key %s: algorithm %q, want %s", sk.ID, sk.Algorithm, Algorithm)
	}
	if !isKID(sk.ID) {
		return nil, fmt.Errorf("keys: signing key %q: kid is not 64 lower-case hex digits", sk.ID)
	}
	der, err := open(aead, sk.ID, sk.PrivateKeyEncrypted)
	if err != nil {
		return nil, err
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("keys: signing key %s: parse private key: %w", sk.ID, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("keys: signing key %s: private key is %T, want RSA", sk.ID, parsed)
	}
	if priv.N.BitLen() < KeyBits {
		return nil, fmt.Errorf("keys: signing key %s: RSA key has %d bits, want at least %d", sk.ID, priv.N.BitLen(), KeyBits)
	}
	kid, err := KeyID(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	if kid != sk.ID {
		return nil, fmt.Errorf("keys: signing key %s: kid does not match the private key", sk.ID)
	}
	block, rest := pem.Decode([]byte(sk.CertificatePEM))
	if block == nil || block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
		return nil, fmt.Errorf("keys: signing key %s: certificate is not a PEM CERTIFICATE block", sk.ID)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("keys: signing key %s: trailing data after certificate", sk.ID)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keys: signing key %s: parse certificate: %w", sk.ID, err)
	}
	if certPub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !certPub.Equal(&priv.PublicKey) {
		return nil, fmt.Errorf("keys: signing key %s: certificate does not hold the key's public key", sk.ID)
	}
	return &entry{
		kid:        sk.ID,
		priv:       priv,
		pub:        &priv.PublicKey,
		signer:     rs256Signer{priv},
		cert:       cert,
		certPEM:    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})),
		created:    sk.CreatedAt,
		retireAt:   sk.RetireAt,
		sealed:     sk.PrivateKeyEncrypted,
		storedCert: sk.CertificatePEM,
	}, nil
}

func isKID(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// errWrongUse is returned by rs256Signer for anything but RSASSA-PKCS1-v1_5 with SHA-256.
var errWrongUse = errors.New("keys: signing keys only sign RSASSA-PKCS1-v1_5 SHA-256 digests (RS256)")

// rs256Signer binds a key to RS256, the one algorithm its kid is published for, and keeps the
// *rsa.PrivateKey out of reach of a type assertion by callers.
type rs256Signer struct{ k *rsa.PrivateKey }

func (s rs256Signer) Public() crypto.PublicKey { return &s.k.PublicKey }

func (s rs256Signer) Sign(random io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss || opts == nil || opts.HashFunc() != crypto.SHA256 {
		return nil, errWrongUse
	}
	return rsa.SignPKCS1v15(random, s.k, crypto.SHA256, digest)
}
