package saml

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/xmlenc"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// encHarness is a connector with enable_encryption and Gatehouse's SP encryption keys (the
// current one and, optionally, an older one still in its overlap).
func encHarness(t *testing.T, enable bool, spKeys ...testKey) *harness {
	t.Helper()
	idp, _, _ := keys(t)
	var decs []crypto.Decrypter
	var certs []*x509.Certificate
	for _, k := range spKeys {
		decs = append(decs, k.key)
		certs = append(certs, k.cert)
	}
	cl := &clock{t: testNow}
	c, err := New(store.IdentityProvider{ID: testIdPID, Type: "saml", Config: map[string]any{
		"sso_target_url": testSSO, "issuer_url": testIssuer, "idp_public_certs": []any{certPEM(idp.cert)},
		"enable_encryption": enable,
	}}, identity.Env{ID: testIdPID, Now: cl.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Replay: &memReplay{now: cl.Now}, Decrypters: decs, EncryptionCertificates: certs})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{c: c, clock: cl}
}

// gcm marks the test's own AES-GCM encryptor: crewjam's (v0.5.1) seals a zero buffer instead
// of the plaintext and leaves the nonce out, so it cannot be used.
type gcm struct {
	keySize   int
	transport string // algRSAOAEPMGF1P or algRSAOAEP11
	mgf       string // with algRSAOAEP11: an MGF algorithm, or "" for the default (MGF1-SHA1)
}

func (g gcm) encrypt(t testing.TB, cert *x509.Certificate, plain []byte) *etree.Element {
	t.Helper()
	cek := make([]byte, g.keySize)
	_, _ = rand.Read(cek)
	mgf := crypto.SHA1
	if g.mgf == algMGF1SHA256 {
		mgf = crypto.SHA256
	}
	wrapped, err := rsa.EncryptOAEPWithOptions(rand.Reader, cert.PublicKey.(*rsa.PublicKey), cek, &rsa.OAEPOptions{Hash: crypto.SHA1, MGFHash: mgf})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(cek)
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	body := aead.Seal(append([]byte(nil), nonce...), nonce, plain, nil)

	ed := etree.NewElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", nsXEnc)
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", map[int]string{16: algAES128GCM, 32: algAES256GCM}[g.keySize])
	ki := ed.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", nsDSig)
	ek := ki.CreateElement("xenc:EncryptedKey")
	em := ek.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", g.transport)
	if g.mgf != "" {
		m := em.CreateElement("xenc11:MGF")
		m.CreateAttr("xmlns:xenc11", nsXEnc11)
		m.CreateAttr("Algorithm", g.mgf)
	}
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(body))
	return ed
}

// encrypted builds s with its (signed) assertion encrypted to cert, with AES-GCM (gcm) or by
// crewjam's xmlenc, an independent implementation (transport and block; CBC in practice).
func (s respSpec) encrypted(t testing.TB, cert *x509.Certificate, transport xmlenc.RSA, block xmlenc.BlockCipher) []byte {
	return s.encryptedWith(t, cert, func(plain []byte) *etree.Element {
		transport.BlockCipher = block
		ed, err := transport.Encrypt(cert, plain, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ed
	})
}

func (s respSpec) encryptedGCM(t testing.TB, cert *x509.Certificate, g gcm) []byte {
	return s.encryptedWith(t, cert, func(plain []byte) *etree.Element { return g.encrypt(t, cert, plain) })
}

func (s respSpec) encryptedWith(t testing.TB, cert *x509.Certificate, enc func([]byte) *etree.Element) []byte {
	t.Helper()
	a := s.assertionElement()
	if s.SignAssertion {
		a = sign(t, a, s.AssertionKey, s.SigMethod, !s.NoKeyInfo)
	}
	doc := etree.NewDocument()
	doc.SetRoot(a)
	plain, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	ed := enc(plain)
	ed.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	ea := etree.NewElement("saml:EncryptedAssertion")
	ea.AddChild(ed)

	r := etree.NewElement("samlp:Response")
	r.CreateAttr("xmlns:samlp", nsProtocol)
	r.CreateAttr("xmlns:saml", nsAssertion)
	r.CreateAttr("ID", s.RespID)
	r.CreateAttr("Version", "2.0")
	r.CreateAttr("IssueInstant", ts(testNow.Add(-10*time.Second)))
	r.CreateAttr("Destination", s.Destination)
	r.CreateAttr("InResponseTo", s.RespInResponseTo)
	r.CreateElement("saml:Issuer").SetText(s.RespIssuer)
	r.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", s.Status)
	r.AddChild(ea)
	if s.SignResp {
		r = sign(t, r, s.ResponseKey, s.SigMethod, !s.NoKeyInfo)
	}
	out := etree.NewDocument()
	out.SetRoot(r)
	return docBytes(t, out)
}

func TestEncryptedAssertions(t *testing.T) {
	sp := newTestKey(t, "gatehouse sp encryption", testNow.Add(-time.Hour), testNow.Add(24*time.Hour))
	oldSP := newTestKey(t, "gatehouse sp encryption (previous)", testNow.Add(-time.Hour), testNow.Add(24*time.Hour))
	other := newTestKey(t, "someone else", testNow.Add(-time.Hour), testNow.Add(24*time.Hour))
	idp, evil, _ := keys(t)
	unsignedResp := validSpec(t)
	unsignedResp.SignResp = false
	unsignedAssertion := validSpec(t)
	unsignedAssertion.SignAssertion = false
	forged := validSpec(t)
	forged.AssertionKey, forged.ResponseKey = &evil, &evil
	pkcs1 := xmlenc.PKCS1v15()
	cases := []struct {
		name      string
		raw       []byte
		keys      []testKey
		enable    bool
		reason    string // "" = accepted
		wantEmail string
	}{
		{"GCM, assertion signed only", unsignedResp.encryptedGCM(t, sp.cert, gcm{16, algRSAOAEPMGF1P, ""}), []testKey{sp}, true, "", "alice@example.com"},
		{"GCM-256, xmlenc11 rsa-oaep with MGF1-SHA256", unsignedResp.encryptedGCM(t, sp.cert, gcm{32, algRSAOAEP11, algMGF1SHA256}), []testKey{sp}, true, "", "alice@example.com"},
		{"CBC inside a signed Response (crewjam xmlenc)", validSpec(t).encrypted(t, sp.cert, xmlenc.OAEP(), xmlenc.AES256CBC), []testKey{sp}, true, "", "alice@example.com"},
		{"CBC-128, xmlenc11 rsa-oaep (crewjam xmlenc)", validSpec(t).encrypted(t, sp.cert, xmlenc.OAEP_SHA256(), xmlenc.AES128CBC), []testKey{sp}, true, "", "alice@example.com"},
		{"to the previous key during its overlap", unsignedResp.encryptedGCM(t, oldSP.cert, gcm{16, algRSAOAEPMGF1P, ""}), []testKey{sp, oldSP}, true, "", "alice@example.com"},
		{"CBC with an unsigned Response", unsignedResp.encrypted(t, sp.cert, xmlenc.OAEP(), xmlenc.AES256CBC), []testKey{sp}, true, "saml-weak-encryption", ""},
		{"RSA PKCS#1 v1.5 key transport", validSpec(t).encrypted(t, sp.cert, pkcs1, xmlenc.AES256CBC), []testKey{sp}, true, "saml-weak-encryption", ""},
		{"encrypted but unsigned assertion", func() []byte {
			s := unsignedAssertion
			s.SignResp = false
			return s.encryptedGCM(t, sp.cert, gcm{16, algRSAOAEPMGF1P, ""})
		}(), []testKey{sp}, true, "saml-unsigned-assertion", ""},
		{"encrypted, signed by an untrusted key", func() []byte {
			s := forged
			s.SignResp = false
			return s.encryptedGCM(t, sp.cert, gcm{16, algRSAOAEPMGF1P, ""})
		}(), []testKey{sp}, true, "saml-untrusted-certificate", ""},
		{"encrypted to another key", unsignedResp.encryptedGCM(t, other.cert, gcm{16, algRSAOAEPMGF1P, ""}), []testKey{sp}, true, "saml-decrypt-failed", ""},
		{"enable_encryption off", unsignedResp.encryptedGCM(t, sp.cert, gcm{16, algRSAOAEPMGF1P, ""}), nil, false, "saml-encrypted-assertion", ""},
		{"plain assertion still accepted", validSpec(t).bytes(t), []testKey{sp}, true, "", "alice@example.com"},
	}
	_ = idp
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := encHarness(t, c.enable, c.keys...)
			id, err := h.callback(postRequest(c.raw), flow())
			if c.reason == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if id.Email != c.wantEmail {
					t.Errorf("email %q", id.Email)
				}
				return
			}
			var le *identity.LoginError
			if !errors.As(err, &le) || le.Reason != c.reason {
				t.Fatalf("error %v, want reason %s", err, c.reason)
			}
		})
	}
}

// TestEncryptedTamperedCiphertext: flipping bytes of a GCM ciphertext, or of a CBC one inside
// a signed Response, never yields an identity, and every failure of the decryption proper
// reads the same.
func TestEncryptedTamperedCiphertext(t *testing.T) {
	sp := newTestKey(t, "gatehouse sp encryption", testNow.Add(-time.Hour), testNow.Add(24*time.Hour))
	spec := validSpec(t)
	spec.SignResp = false
	raw := string(spec.encryptedGCM(t, sp.cert, gcm{16, algRSAOAEPMGF1P, ""}))
	// The second CipherValue is the content's.
	i := strings.LastIndex(raw, "CipherValue>") - 40
	for _, at := range []int{i, i - 10, i - 20} {
		b := []byte(raw)
		if b[at] == 'A' {
			b[at] = 'B'
		} else {
			b[at] = 'A'
		}
		h := encHarness(t, true, sp)
		_, err := h.callback(postRequest(b), flow())
		var le *identity.LoginError
		if !errors.As(err, &le) || (le.Reason != "saml-decrypt-failed" && le.Reason != "saml-encrypted-assertion") {
			t.Errorf("tampered at %d: %v", at, err)
		}
	}
}

func TestSPMetadataPublishesEncryptionKey(t *testing.T) {
	sp := newTestKey(t, "gatehouse sp encryption", testNow.Add(-time.Hour), testNow.Add(24*time.Hour))
	for _, enable := range []bool{true, false} {
		h := encHarness(t, enable, sp)
		md, err := h.c.SPMetadata(loginReq())
		if err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(string(md), `use="encryption"`) && strings.Contains(string(md), algAES256GCM)
		if has != enable {
			t.Errorf("enable_encryption %v: metadata encryption key present %v\n%s", enable, has, md)
		}
	}
	if _, err := New(store.IdentityProvider{ID: "x", Type: "saml", Config: map[string]any{"sso_target_url": testSSO,
		"issuer_url": testIssuer, "idp_public_certs": []any{certPEM(sp.cert)}, "enable_encryption": true}},
		identity.Env{ID: "x", Replay: &memReplay{now: time.Now}}); err == nil || !strings.Contains(err.Error(), "encryption key") {
		t.Errorf("enable_encryption without keys: %v", err)
	}
}

// fuzzSPKey is the SP encryption key FuzzParseResponse decrypts with.
var fuzzSPKey struct {
	once sync.Once
	key  testKey
}

func fuzzEncryptionKey(t testing.TB) testKey {
	fuzzSPKey.once.Do(func() {
		fuzzSPKey.key = newTestKey(t, "fuzz sp encryption", testNow.Add(-time.Hour), testNow.Add(24*time.Hour))
	})
	return fuzzSPKey.key
}
