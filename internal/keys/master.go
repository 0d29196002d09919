package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// MasterKeySize is the length of the master key in bytes (AES-256).
const MasterKeySize = 32

// maxMasterKeyFile bounds what LoadMasterKey reads; an encoded key is under 100 bytes.
const maxMasterKeyFile = 4096

// ErrWrongMasterKey is returned (wrapped) when a stored signing key does not decrypt: the master
// key differs from the one it was sealed with, or the stored bytes were altered.
var ErrWrongMasterKey = errors.New("keys: signing key does not decrypt under this master key (wrong master key, or the stored key was altered)")

// LoadMasterKey reads a master key file: 32 random bytes encoded as hex or base64 (standard or
// URL alphabet, padded or not), surrounding whitespace ignored. The file's permissions are not
// checked, so keys mounted read-only by an orchestrator load as well; errors never contain key
// material.
func LoadMasterKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: open master key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMasterKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("keys: read master key file %s: %w", path, err)
	}
	if len(b) > maxMasterKeyFile {
		return nil, fmt.Errorf("keys: master key file %s is larger than %d bytes; expected %d bytes encoded as hex or base64", path, maxMasterKeyFile, MasterKeySize)
	}
	key, err := ParseMasterKey(b)
	if err != nil {
		return nil, fmt.Errorf("keys: master key file %s: %w", path, err)
	}
	return key, nil
}

// ParseMasterKey decodes a master key given as text (the contents of a master key file, or a
// value from the environment): 32 bytes as 64 hex digits or as base64, whitespace trimmed.
func ParseMasterKey(text []byte) ([]byte, error) {
	s := bytes.TrimSpace(text)
	if len(s) == 0 {
		return nil, errors.New("master key is empty")
	}
	if isHex(s) {
		if len(s) != hex.EncodedLen(MasterKeySize) {
			return nil, fmt.Errorf("master key is %d hex digits (%d bytes), want exactly %d bytes (%d hex digits)",
				len(s), len(s)/2, MasterKeySize, hex.EncodedLen(MasterKeySize))
		}
		key := make([]byte, MasterKeySize)
		if _, err := hex.Decode(key, s); err != nil {
			return nil, errors.New("master key: invalid hex")
		}
		return key, nil
	}
	var key []byte
	// The base64 decoders skip newlines; a key split over lines is not what we wrote.
	if key == nil && !bytes.ContainsAny(s, "\r\n") {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			buf := make([]byte, enc.DecodedLen(len(s)))
			if n, err := enc.Strict().Decode(buf, s); err == nil {
				key = buf[:n]
				break
			}
		}
	}
	if key == nil {
		return nil, fmt.Errorf("master key is neither hex nor base64 (%d characters); expected %d random bytes encoded as 64 hex digits or 44 base64 characters", len(s), MasterKeySize)
	}
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("master key decodes to %d bytes, want exactly %d", len(key), MasterKeySize)
	}
	return key, nil
}

func isHex(s []byte) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// GenerateMasterKeyFile writes a new random master key, base64-encoded, to path with mode 0600.
// It refuses to overwrite an existing file (the error wraps fs.ErrExist): losing the old key
// makes every stored signing key and secret unreadable.
func GenerateMasterKeyFile(path string) (err error) {
	key := make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("keys: generate master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keys: create master key file (an existing file is never overwritten): %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("keys: close master key file %s: %w", path, cerr)
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return fmt.Errorf("keys: write master key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("keys: sync master key file %s: %w", path, err)
	}
	return nil
}

// Sealed private keys are: version byte, 12-byte random nonce, AES-256-GCM ciphertext and tag.
// The kid is the additional data, so a sealed key cannot be moved to another key's row.
const sealVersion = 1

// sealInfo separates the signing-key subkey from anything else derived from the master key.
const sealInfo = "gatehouse keys: signing key encryption v1"

// newSealer derives the signing-key encryption key from the master key with HKDF-SHA256.
func newSealer(masterKey []byte) (cipher.AEAD, error) {
	return newSealerInfo(masterKey, sealInfo)
}

// newSealerInfo derives an AES-256-GCM key from the master key with HKDF-SHA256 and info, which
// separates the keys of different purposes.
func newSealerInfo(masterKey []byte, info string) (cipher.AEAD, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("keys: master key is %d bytes, want %d", len(masterKey), MasterKeySize)
	}
	k, err := hkdf.Key(sha256.New, masterKey, nil, info, 32)
	if err != nil {
		return nil, fmt.Errorf("keys: derive encryption key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return aead, nil
}

func seal(aead cipher.AEAD, random io.Reader, kid string, plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	if _, err := io.ReadFull(random, out[1:]); err != nil {
		return nil, fmt.Errorf("keys: read nonce: %w", err)
	}
	return aead.Seal(out, out[1:], plaintext, []byte(kid)), nil
}

func open(aead cipher.AEAD, kid string, sealed []byte) ([]byte, error) {
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: unknown encryption format (kid %s)", ErrWrongMasterKey, kid)
	}
	nonce := sealed[1 : 1+aead.NonceSize()]
	pt, err := aead.Open(nil, nonce, sealed[1+aead.NonceSize():], []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("%w (kid %s)", ErrWrongMasterKey, kid)
	}
	return pt, nil
}
