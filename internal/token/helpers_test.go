package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/token"
)

const testIssuer = "https://auth.example.com"

// testNow is the fixed clock of the table tests.
var testNow = time.Unix(1_700_000_000, 0)

func fixedNow() time.Time { return testNow }

type testKeys struct {
	key, other, weak       *rsa.PrivateKey
	kid, otherKID, weakKID string
	ec                     *ecdsa.PrivateKey
}

var (
	keysOnce sync.Once
	keysVal  testKeys
)

// fixture returns RSA keys generated once per test binary.
func fixture(t testing.TB) *testKeys {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		gen := func(bits int) *rsa.PrivateKey {
			k, e := rsa.GenerateKey(rand.Reader, bits)
			if e != nil {
				err = e
			}
			return k
		}
		keysVal.key, keysVal.other, keysVal.weak = gen(2048), gen(2048), gen(1024)
		if err != nil {
			panic(err)
		}
		keysVal.kid = kidOf(&keysVal.key.PublicKey)
		keysVal.otherKID = kidOf(&keysVal.other.PublicKey)
		keysVal.weakKID = kidOf(&keysVal.weak.PublicKey)
		keysVal.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
	})
	return &keysVal
}

func kidOf(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// staticSigner signs with one key.
type staticSigner struct {
	key crypto.Signer
	kid string
}

func (s staticSigner) Signer() (crypto.Signer, string) { return s.key, s.kid }

// keySet publishes a fixed set of keys.
type keySet map[string]*rsa.PublicKey

func (ks keySet) PublicKey(kid string) (*rsa.PublicKey, bool) {
	k, ok := ks[kid]
	return k, ok
}

// published is the key set the table tests verify against: the main key and a weak one.
func (k *testKeys) published() keySet {
	return keySet{k.kid: &k.key.PublicKey, k.weakKID: &k.weak.PublicKey}
}

func (k *testKeys) verifier() *token.Verifier {
	return token.NewVerifier(k.published(), testIssuer, fixedNow)
}

func (k *testKeys) signer() token.Signer { return staticSigner{k.key, k.kid} }

func validClaims() *token.Claims {
	return &token.Claims{
		Audience:      []string{"aud-wiki"},
		Email:         "alice@example.com",
		Subject:       "7335d417-61da-459d-899c-0a01c76a2f94",
		Issuer:        testIssuer,
		IssuedAt:      testNow.Unix() - 10,
		NotBefore:     testNow.Unix() - 10,
		ExpiresAt:     testNow.Unix() + 3600,
		Type:          token.TypeApp,
		IdentityNonce: "6ei69kawdKzMIAPF",
		Country:       "US",
	}
}

var enc = base64.RawURLEncoding

func seg(s string) string { return enc.EncodeToString([]byte(s)) }

// signRS256 signs the segments exactly as given with RSASSA-PKCS1-v1_5 SHA-256.
func signRS256(key *rsa.PrivateKey, h64, p64 string) string {
	d := sha256.Sum256([]byte(h64 + "." + p64))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
	if err != nil {
		panic(err)
	}
	return h64 + "." + p64 + "." + enc.EncodeToString(sig)
}

// rawToken signs JSON header and payload with key (RS256 signature whatever the header says).
func rawToken(key *rsa.PrivateKey, headerJSON, payloadJSON string) string {
	return signRS256(key, seg(headerJSON), seg(payloadJSON))
}

func hs256(secret []byte, headerJSON, payloadJSON string) string {
	in := seg(headerJSON) + "." + seg(payloadJSON)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + enc.EncodeToString(m.Sum(nil))
}

func rs512(key *rsa.PrivateKey, headerJSON, payloadJSON string) string {
	in := seg(headerJSON) + "." + seg(payloadJSON)
	d := sha512.Sum512([]byte(in))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA512, d[:])
	if err != nil {
		panic(err)
	}
	return in + "." + enc.EncodeToString(sig)
}

func ps256(key *rsa.PrivateKey, headerJSON, payloadJSON string) string {
	in := seg(headerJSON) + "." + seg(payloadJSON)
	d := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], nil)
	if err != nil {
		panic(err)
	}
	return in + "." + enc.EncodeToString(sig)
}

func es256(key *ecdsa.PrivateKey, headerJSON, payloadJSON string) string {
	in := seg(headerJSON) + "." + seg(payloadJSON)
	d := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + enc.EncodeToString(sig)
}

func publicPEM(pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func publicDER(pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return der
}

// jwkJSON renders pub as a JWK, for headers that try to smuggle a key in.
func jwkJSON(pub *rsa.PublicKey, kid string) string {
	return `{"kty":"RSA","kid":"` + kid + `","e":"` + enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes()) + `","n":"` + enc.EncodeToString(pub.N.Bytes()) + `"}`
}
