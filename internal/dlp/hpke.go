package dlp

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/cloudflare/circl/hpke"
)

// payloadSuite is HPKE base mode with X25519-HKDF-SHA256, HKDF-SHA256 and
// ChaCha20-Poly1305, the suite of Cloudflare's matched-data payload logs.
var payloadSuite = hpke.NewSuite(hpke.KEM_X25519_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_ChaCha20Poly1305)

const payloadVersion = 2

var payloadInfo = []byte("gatehouse dlp payload v2")

// GenerateKeyPair returns a new X25519 key pair for payload encryption as
// raw 32-byte public and private keys.
func GenerateKeyPair() (pub, priv []byte, err error) {
	pk, sk, err := hpke.KEM_X25519_HKDF_SHA256.Scheme().GenerateKeyPair()
	if err != nil {
		return nil, nil, fmt.Errorf("dlp: generate key: %w", err)
	}
	if pub, err = pk.MarshalBinary(); err != nil {
		return nil, nil, fmt.Errorf("dlp: marshal public key: %w", err)
	}
	if priv, err = sk.MarshalBinary(); err != nil {
		return nil, nil, fmt.Errorf("dlp: marshal private key: %w", err)
	}
	return pub, priv, nil
}

// EncryptPayload seals plaintext to an administrator's X25519 public key.
// The result is version byte 2, the 32-byte encapsulated key, then the
// ChaCha20-Poly1305 ciphertext and tag.
func EncryptPayload(pub, plaintext []byte) ([]byte, error) {
	pk, err := hpke.KEM_X25519_HKDF_SHA256.Scheme().UnmarshalBinaryPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("dlp: public key: %w", err)
	}
	snd, err := payloadSuite.NewSender(pk, payloadInfo)
	if err != nil {
		return nil, fmt.Errorf("dlp: hpke sender: %w", err)
	}
	enc, sealer, err := snd.Setup(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dlp: hpke setup: %w", err)
	}
	ct, err := sealer.Seal(plaintext, nil)
	if err != nil {
		return nil, fmt.Errorf("dlp: hpke seal: %w", err)
	}
	out := make([]byte, 0, 1+len(enc)+len(ct))
	out = append(out, payloadVersion)
	out = append(out, enc...)
	return append(out, ct...), nil
}

// DecryptPayload opens a payload sealed by EncryptPayload.
func DecryptPayload(priv, ciphertext []byte) ([]byte, error) {
	scheme := hpke.KEM_X25519_HKDF_SHA256.Scheme()
	sk, err := scheme.UnmarshalBinaryPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("dlp: private key: %w", err)
	}
	encLen := scheme.CiphertextSize()
	if len(ciphertext) < 1+encLen || ciphertext[0] != payloadVersion {
		return nil, errors.New("dlp: payload: bad version or length")
	}
	rcv, err := payloadSuite.NewReceiver(sk, payloadInfo)
	if err != nil {
		return nil, fmt.Errorf("dlp: hpke receiver: %w", err)
	}
	opener, err := rcv.Setup(ciphertext[1 : 1+encLen])
	if err != nil {
		return nil, fmt.Errorf("dlp: hpke setup: %w", err)
	}
	pt, err := opener.Open(ciphertext[1+encLen:], nil)
	if err != nil {
		return nil, fmt.Errorf("dlp: hpke open: %w", err)
	}
	return pt, nil
}
