package keys

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
)

// jwk is one RSA key in the certs document, fields in Cloudflare's order.
type jwk struct {
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	E   string `json:"e"`
	N   string `json:"n"`
}

type publicCert struct {
	Kid  string `json:"kid"`
	Cert string `json:"cert"`
}

type certsDocument struct {
	Keys        []jwk        `json:"keys"`
	PublicCert  publicCert   `json:"public_cert"`
	PublicCerts []publicCert `json:"public_certs"`
}

// certsJSON renders the certs document for entries, current key first.
func certsJSON(entries []*entry) ([]byte, error) {
	doc := certsDocument{
		Keys:        make([]jwk, 0, len(entries)),
		PublicCerts: make([]publicCert, 0, len(entries)),
	}
	for _, e := range entries {
		doc.Keys = append(doc.Keys, jwk{
			Kid: e.kid,
			Kty: "RSA",
			Alg: Algorithm,
			Use: "sig",
			E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(e.pub.E)).Bytes()),
			N:   base64.RawURLEncoding.EncodeToString(e.pub.N.Bytes()),
		})
		doc.PublicCerts = append(doc.PublicCerts, publicCert{Kid: e.kid, Cert: e.certPEM})
	}
	if len(entries) > 0 {
		doc.PublicCert = doc.PublicCerts[0]
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("keys: encode certs document: %w", err)
	}
	return b, nil
}
