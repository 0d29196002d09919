package saml

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/beevik/etree"
)

// XML Encryption identifiers (xmlenc-core, xmlenc-core1).
const (
	nsXEnc   = "http://www.w3.org/2001/04/xmlenc#"
	nsXEnc11 = "http://www.w3.org/2009/xmlenc11#"

	algRSAOAEPMGF1P = nsXEnc + "rsa-oaep-mgf1p"
	algRSAOAEP11    = nsXEnc11 + "rsa-oaep"
	algRSA15        = nsXEnc + "rsa-1_5"
	algAES128GCM    = nsXEnc11 + "aes128-gcm"
	algAES192GCM    = nsXEnc11 + "aes192-gcm"
	algAES256GCM    = nsXEnc11 + "aes256-gcm"
	algAES128CBC    = nsXEnc + "aes128-cbc"
	algAES192CBC    = nsXEnc + "aes192-cbc"
	algAES256CBC    = nsXEnc + "aes256-cbc"

	algMGF1SHA1   = nsXEnc11 + "mgf1sha1"
	algMGF1SHA256 = nsXEnc11 + "mgf1sha256"
	algMGF1SHA512 = nsXEnc11 + "mgf1sha512"
)

// encryptionMethods are announced in the SP metadata, preferred first: AES-GCM content
// encryption with RSA-OAEP key transport.
var encryptionMethods = []string{algAES256GCM, algAES128GCM, algRSAOAEPMGF1P, algRSAOAEP11}

var gcmKeySizes = map[string]int{algAES128GCM: 16, algAES192GCM: 24, algAES256GCM: 32}
var cbcKeySizes = map[string]int{algAES128CBC: 16, algAES192CBC: 24, algAES256CBC: 32}

// maxCipherBytes bounds one CipherValue (the response as a whole is bounded already).
const maxCipherBytes = MaxBodyBytes

// errDecrypt is the one error every decryption failure reports, whatever failed (key
// transport, tag, padding, the plaintext's XML): distinct errors would be an oracle.
var errDecrypt = errors.New("the encrypted assertion cannot be decrypted with Gatehouse's SAML encryption key")

// decryptAssertion returns the plaintext of an EncryptedAssertion (a serialised
// saml:Assertion). Key transport must be RSA-OAEP (RSA PKCS#1 v1.5 is refused: it is open to
// Bleichenbacher's attack); content encryption AES-GCM, or AES-CBC only when authenticated
// says the ciphertext is covered by a Response signature that verified (unauthenticated CBC is
// open to the padding-oracle attack on XML Encryption). Every key in keys is tried, so a
// manual rotation keeps working during its overlap. Failures after the algorithm checks all
// report errDecrypt.
func decryptAssertion(ea *etree.Element, keys []crypto.Decrypter, authenticated bool) ([]byte, error) {
	ed, err := child(ea, nsXEnc, "EncryptedData")
	if err != nil || ed == nil {
		return nil, fail("saml-encrypted-assertion", "the EncryptedAssertion holds no single xenc:EncryptedData")
	}
	contentAlg := methodOf(ed)
	_, gcm := gcmKeySizes[contentAlg]
	_, cbc := cbcKeySizes[contentAlg]
	switch {
	case gcm:
	case cbc && authenticated:
	case cbc:
		return nil, fail("saml-weak-encryption", "the assertion is encrypted with AES-CBC and the Response is not signed; configure the IdP to use AES-GCM or to sign the Response")
	default:
		return nil, fail("saml-weak-encryption", "content encryption %q is not accepted; use AES-GCM", contentAlg)
	}
	ek := encryptedKey(ea, ed)
	if ek == nil {
		return nil, fail("saml-encrypted-assertion", "no single xenc:EncryptedKey for the EncryptedData")
	}
	opts, err := oaepOptions(ek)
	if err != nil {
		return nil, err
	}
	wrapped, err := cipherValue(ek)
	if err != nil {
		return nil, err
	}
	body, err := cipherValue(ed)
	if err != nil {
		return nil, err
	}
	// Some encrypters (crewjam/saml among them) use the OAEP digest for MGF1 too, where
	// rsa-oaep-mgf1p prescribes SHA-1; that variant is tried second. OAEP fails the same way
	// whatever is wrong, so the second try is no oracle.
	variants := []*rsa.OAEPOptions{opts}
	if opts.MGFHash != opts.Hash {
		v := *opts
		v.MGFHash = opts.Hash
		variants = append(variants, &v)
	}
	for _, k := range keys {
		for _, o := range variants {
			cek, err := k.Decrypt(rand.Reader, wrapped, o)
			if err != nil {
				continue
			}
			if pt, ok := decryptContent(contentAlg, cek, body); ok {
				return pt, nil
			}
		}
	}
	return nil, fail("saml-decrypt-failed", "%v", errDecrypt)
}

func methodOf(el *etree.Element) string {
	m, err := child(el, nsXEnc, "EncryptionMethod")
	if err != nil || m == nil {
		return ""
	}
	return attr(m, "Algorithm")
}

// encryptedKey finds the EncryptedKey: inside EncryptedData's KeyInfo, or beside EncryptedData
// in the EncryptedAssertion (as samlify and others place it). Exactly one must exist.
func encryptedKey(ea, ed *etree.Element) *etree.Element {
	var found []*etree.Element
	if ki, _ := child(ed, nsDSig, "KeyInfo"); ki != nil {
		found = append(found, children(ki, nsXEnc, "EncryptedKey")...)
	}
	found = append(found, children(ea, nsXEnc, "EncryptedKey")...)
	if len(found) != 1 {
		return nil
	}
	return found[0]
}

// oaepOptions reads the key transport method: RSA-OAEP with the digest of its DigestMethod
// (SHA-1 by default, as the specs say) and MGF1 with SHA-1 (rsa-oaep-mgf1p) or the xenc11:MGF
// named (rsa-oaep).
func oaepOptions(ek *etree.Element) (*rsa.OAEPOptions, error) {
	m, err := child(ek, nsXEnc, "EncryptionMethod")
	if err != nil || m == nil {
		return nil, fail("saml-encrypted-assertion", "the EncryptedKey has no single EncryptionMethod")
	}
	alg := attr(m, "Algorithm")
	switch alg {
	case algRSAOAEPMGF1P, algRSAOAEP11:
	case algRSA15:
		return nil, fail("saml-weak-encryption", "key transport RSA PKCS#1 v1.5 is not accepted; configure the IdP to use RSA-OAEP")
	default:
		return nil, fail("saml-weak-encryption", "key transport %q is not accepted; use RSA-OAEP", alg)
	}
	opts := &rsa.OAEPOptions{Hash: crypto.SHA1, MGFHash: crypto.SHA1}
	if dm, _ := child(m, nsDSig, "DigestMethod"); dm != nil {
		h, ok := digestByURI[attr(dm, "Algorithm")]
		if !ok {
			return nil, fail("saml-weak-encryption", "OAEP digest %q is not supported", attr(dm, "Algorithm"))
		}
		opts.Hash = h
	}
	if mgf, _ := child(m, nsXEnc11, "MGF"); mgf != nil {
		if alg != algRSAOAEP11 {
			return nil, fail("saml-encrypted-assertion", "an MGF is only allowed with %s", algRSAOAEP11)
		}
		switch attr(mgf, "Algorithm") {
		case algMGF1SHA1:
			opts.MGFHash = crypto.SHA1
		case algMGF1SHA256:
			opts.MGFHash = crypto.SHA256
		case algMGF1SHA512:
			opts.MGFHash = crypto.SHA512
		default:
			return nil, fail("saml-weak-encryption", "MGF %q is not supported", attr(mgf, "Algorithm"))
		}
	}
	if p, _ := child(m, nsXEnc, "OAEPparams"); p != nil {
		label, err := base64.StdEncoding.DecodeString(strings.TrimSpace(p.Text()))
		if err != nil {
			return nil, fail("saml-encrypted-assertion", "OAEPparams is not base64")
		}
		opts.Label = label
	}
	return opts, nil
}

// digestByURI maps OAEP DigestMethod URIs: xmlenc's, and the xmldsig ones some encrypters
// write instead.
var digestByURI = map[string]crypto.Hash{
	"http://www.w3.org/2000/09/xmldsig#sha1":        crypto.SHA1,
	"http://www.w3.org/2001/04/xmlenc#sha256":       crypto.SHA256,
	"http://www.w3.org/2000/09/xmldsig#sha256":      crypto.SHA256,
	"http://www.w3.org/2001/04/xmldsig-more#sha256": crypto.SHA256,
	"http://www.w3.org/2001/04/xmldsig-more#sha384": crypto.SHA384,
	"http://www.w3.org/2001/04/xmlenc#sha512":       crypto.SHA512,
	"http://www.w3.org/2000/09/xmldsig#sha512":      crypto.SHA512,
	"http://www.w3.org/2001/04/xmldsig-more#sha512": crypto.SHA512,
}

func cipherValue(el *etree.Element) ([]byte, error) {
	cd, err := child(el, nsXEnc, "CipherData")
	if err != nil || cd == nil {
		return nil, fail("saml-encrypted-assertion", "<%s> has no single CipherData", el.Tag)
	}
	cv, err := child(cd, nsXEnc, "CipherValue")
	if err != nil || cv == nil {
		return nil, fail("saml-encrypted-assertion", "<%s> has no single CipherValue (CipherReference is not supported)", el.Tag)
	}
	text := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, cv.Text())
	if len(text) > maxCipherBytes {
		return nil, fail("saml-too-large", "CipherValue is too large")
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, fail("saml-encrypted-assertion", "CipherValue is not base64")
	}
	return b, nil
}

// decryptContent decrypts IV || ciphertext (|| tag for GCM) with the content key; ok is false
// on any failure (wrong key size, tag, padding), without saying which.
func decryptContent(alg string, key, body []byte) ([]byte, bool) {
	if n, isGCM := gcmKeySizes[alg]; isGCM {
		if len(key) != n {
			return nil, false
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, false
		}
		aead, err := cipher.NewGCM(block)
		if err != nil || len(body) < aead.NonceSize()+aead.Overhead() {
			return nil, false
		}
		pt, err := aead.Open(nil, body[:aead.NonceSize()], body[aead.NonceSize():], nil)
		return pt, err == nil
	}
	if len(key) != cbcKeySizes[alg] || len(body) < 2*aes.BlockSize || len(body)%aes.BlockSize != 0 {
		return nil, false
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, false
	}
	pt := make([]byte, len(body)-aes.BlockSize)
	cipher.NewCBCDecrypter(block, body[:aes.BlockSize]).CryptBlocks(pt, body[aes.BlockSize:])
	// XML Encryption padding: the last byte is the pad length (1..16); the other pad bytes are
	// arbitrary (ISO 10126).
	pad := int(pt[len(pt)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, false
	}
	return pt[:len(pt)-pad], true
}
