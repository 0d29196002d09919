package token_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/internal/token"
)

func TestMintHeaderAndRoundTrip(t *testing.T) {
	k := fixture(t)
	c := validClaims()
	c.Custom = map[string]any{"groups": []any{"eng", "ops"}, "dept": "R&D <core>"}
	c.AMR = []string{"pwd", "mfa"}
	c.IdP = &token.IdP{ID: "corp", Type: "saml"}

	raw, err := token.Mint(k.signer(), c)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("minted %d segments", len(parts))
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"alg":"RS256","kid":"` + k.kid + `","typ":"JWT"}`; string(h) != want {
		t.Errorf("header = %s, want %s", h, want)
	}

	got, kid, err := k.verifier().VerifyKID(raw)
	if err != nil {
		t.Fatal(err)
	}
	if kid != k.kid {
		t.Errorf("kid = %s, want %s", kid, k.kid)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("claims round trip:\n got %#v\nwant %#v", got, c)
	}
	if !got.HasAudience("aud-wiki") || got.HasAudience("aud-other") || got.HasAudience("") {
		t.Error("HasAudience wrong")
	}
}

func TestMintClaimNames(t *testing.T) {
	k := fixture(t)
	raw, err := token.Mint(k.signer(), validClaims())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"aud", "email", "sub", "iss", "iat", "nbf", "exp", "type", "identity_nonce", "country"} {
		if _, ok := m[name]; !ok {
			t.Errorf("claim %q missing from %s", name, p)
		}
	}
	for _, name := range []string{"custom", "amr", "common_name", "idp"} {
		if _, ok := m[name]; ok {
			t.Errorf("empty claim %q should be omitted: %s", name, p)
		}
	}
	if _, ok := m["aud"].([]any); !ok {
		t.Errorf("aud is %T, want array", m["aud"])
	}
	// NumericDate claims are integers, never floats or strings.
	for _, name := range []string{"iat", "nbf", "exp"} {
		if !strings.Contains(string(p), `"`+name+`":`+jsonInt(m[name])) {
			t.Errorf("%s not an integer in %s", name, p)
		}
	}
}

func jsonInt(v any) string {
	f, _ := v.(float64)
	b, _ := json.Marshal(int64(f))
	return string(b)
}

func TestMintServiceToken(t *testing.T) {
	k := fixture(t)
	c := &token.Claims{
		Audience:   []string{"aud-wiki"},
		Issuer:     testIssuer,
		IssuedAt:   testNow.Unix(),
		ExpiresAt:  testNow.Unix() + 600,
		Type:       token.TypeApp,
		CommonName: "0f1e2d3c.access",
	}
	raw, err := token.Mint(k.signer(), c)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	if !strings.Contains(string(p), `"sub":""`) || !strings.Contains(string(p), `"common_name":"0f1e2d3c.access"`) {
		t.Errorf("service token payload %s lacks empty sub or common_name", p)
	}
	got, err := k.verifier().Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.CommonName != "0f1e2d3c.access" || got.Subject != "" {
		t.Errorf("claims = %+v", got)
	}
}

func TestMintRefuses(t *testing.T) {
	k := fixture(t)
	cases := []struct {
		name   string
		signer token.Signer
		mod    func(*token.Claims)
		want   error
	}{
		{"no iss", k.signer(), func(c *token.Claims) { c.Issuer = "" }, token.ErrInvalidClaims},
		{"no aud", k.signer(), func(c *token.Claims) { c.Audience = nil }, token.ErrInvalidClaims},
		{"empty aud entry", k.signer(), func(c *token.Claims) { c.Audience = []string{"a", ""} }, token.ErrInvalidClaims},
		{"no exp", k.signer(), func(c *token.Claims) { c.ExpiresAt = 0 }, token.ErrInvalidClaims},
		{"exp before iat", k.signer(), func(c *token.Claims) { c.ExpiresAt = c.IssuedAt }, token.ErrInvalidClaims},
		{"bad type", k.signer(), func(c *token.Claims) { c.Type = "service" }, token.ErrInvalidClaims},
		{"service token with sub", k.signer(), func(c *token.Claims) { c.CommonName = "id" }, token.ErrInvalidClaims},
		{"no key", staticSigner{}, nil, token.ErrNoKey},
		{"nil signer", nil, nil, token.ErrNoKey},
		{"EC key", staticSigner{k.ec, "ec"}, nil, token.ErrNoKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validClaims()
			if tc.mod != nil {
				tc.mod(c)
			}
			if _, err := token.Mint(tc.signer, c); !errors.Is(err, tc.want) {
				t.Errorf("Mint error = %v, want %v", err, tc.want)
			}
		})
	}
}

// verifyCase is one input for Verify; the same inputs seed FuzzVerify.
type verifyCase struct {
	name string
	raw  string
	want error // nil: must verify
}

// payloadJSON returns the valid claims as JSON with mod applied to the generic map.
func payloadJSON(mod func(m map[string]any)) string {
	b, _ := json.Marshal(validClaims())
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if mod != nil {
		mod(m)
	}
	b, _ = json.Marshal(m)
	return string(b)
}

func flipChar(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func verifyCases(t testing.TB, jkuURL string) []verifyCase {
	k := fixture(t)
	valid, err := token.Mint(k.signer(), validClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	hdr := `{"alg":"RS256","kid":"` + k.kid + `","typ":"JWT"}`
	hdrKid := func(kid string) string { return `{"alg":"RS256","kid":"` + kid + `","typ":"JWT"}` }
	pl := payloadJSON(nil)
	ours := func(h, p string) string { return rawToken(k.key, h, p) }
	withClaim := func(name string, v any) string {
		return ours(hdr, payloadJSON(func(m map[string]any) { m[name] = v }))
	}
	withoutClaim := func(name string) string {
		return ours(hdr, payloadJSON(func(m map[string]any) { delete(m, name) }))
	}

	// A header whose base64url form has unused trailing bits, to test strictness.
	h := hdr
	for len(enc.EncodeToString([]byte(h)))%4 != 2 {
		h += " "
	}
	h64 := enc.EncodeToString([]byte(h))
	nonCanonical := signRS256(k.key, h64[:len(h64)-1]+string(h64[len(h64)-1]+1), seg(pl))

	// Padded and standard-alphabet encodings, signed so only the encoding is wrong.
	ph := hdr
	for !strings.Contains(base64.URLEncoding.EncodeToString([]byte(ph)), "=") {
		ph += " "
	}
	padded := signRS256(k.key, base64.URLEncoding.EncodeToString([]byte(ph)), seg(pl))
	var stdAlphabet string
	for i := 0; ; i++ {
		p := payloadJSON(func(m map[string]any) { m["email"] = strings.Repeat("?", i) + "~~~>>>@example.com" })
		if s := base64.RawStdEncoding.EncodeToString([]byte(p)); strings.ContainsAny(s, "+/") {
			stdAlphabet = signRS256(k.key, seg(hdr), s)
			break
		}
	}

	big := ours(hdr, payloadJSON(func(m map[string]any) { m["custom"] = map[string]any{"x": strings.Repeat("a", token.MaxTokenSize)} }))
	otherSig := strings.Split(withClaim("email", "mallory@example.com"), ".")[2]

	return []verifyCase{
		{"valid", valid, nil},
		{"valid typ absent", ours(`{"alg":"RS256","kid":"`+k.kid+`"}`, pl), nil},
		{"valid nbf and iat within skew", ours(hdr, payloadJSON(func(m map[string]any) {
			m["nbf"] = testNow.Unix() + 59
			m["iat"] = testNow.Unix() + 59
		})), nil},
		{"valid unknown claims", withClaim("x-extra", 1), nil},
		{"valid with jku jwk x5u x5c of another key ignored", ours(
			`{"alg":"RS256","kid":"`+k.kid+`","typ":"JWT","jku":"`+jkuURL+`/jwks","x5u":"`+jkuURL+`/x5u","jwk":`+jwkJSON(&k.other.PublicKey, k.otherKID)+`,"x5c":["`+base64.StdEncoding.EncodeToString(publicDER(&k.other.PublicKey))+`"]}`,
			pl), nil},

		{"empty", "", token.ErrMalformed},
		{"one segment", parts[0], token.ErrMalformed},
		{"two segments", parts[0] + "." + parts[1], token.ErrMalformed},
		{"four segments", valid + "." + parts[2], token.ErrMalformed},
		{"trailing dot", valid + ".", token.ErrMalformed},
		{"oversized", big, token.ErrMalformed},
		{"padding", padded, token.ErrMalformed},
		{"standard alphabet", stdAlphabet, token.ErrMalformed},
		{"newline in payload", parts[0] + "." + parts[1][:10] + "\n" + parts[1][10:] + "." + parts[2], token.ErrMalformed},
		{"space before token", " " + valid, token.ErrMalformed},
		{"non-canonical trailing bits", nonCanonical, token.ErrMalformed},
		{"header not JSON", ours("not json", pl), token.ErrMalformed},
		{"header JSON array", ours(`["RS256"]`, pl), token.ErrMalformed},
		{"alg not a string", ours(`{"alg":["RS256"],"kid":"`+k.kid+`"}`, pl), token.ErrMalformed},
		{"typ not JWT", ours(`{"alg":"RS256","kid":"`+k.kid+`","typ":"at+jwt"}`, pl), token.ErrMalformed},
		{"crit", ours(`{"alg":"RS256","kid":"`+k.kid+`","typ":"JWT","crit":["exp"],"exp":1}`, pl), token.ErrMalformed},
		{"crit null", ours(`{"alg":"RS256","kid":"`+k.kid+`","crit":null}`, pl), token.ErrMalformed},
		{"crit empty", ours(`{"alg":"RS256","kid":"`+k.kid+`","crit":[]}`, pl), token.ErrMalformed},
		{"payload not JSON", ours(hdr, "nope"), token.ErrMalformed},
		{"payload array", ours(hdr, "[]"), token.ErrMalformed},
		{"aud as string", withClaim("aud", "aud-wiki"), token.ErrMalformed},
		{"exp as string", withClaim("exp", "1700003600"), token.ErrMalformed},
		{"exp fractional", withClaim("exp", 1700003600.5), token.ErrMalformed},

		{"alg none, empty signature", seg(`{"alg":"none","typ":"JWT"}`) + "." + seg(pl) + ".", token.ErrMalformed},
		{"alg none, kid and signature", ours(`{"alg":"none","kid":"`+k.kid+`","typ":"JWT"}`, pl), token.ErrAlgorithm},
		{"alg missing", ours(`{"kid":"`+k.kid+`"}`, pl), token.ErrAlgorithm},
		{"alg lower case", ours(`{"alg":"rs256","kid":"`+k.kid+`"}`, pl), token.ErrAlgorithm},
		{"HS256 keyed with public key PEM", hs256(publicPEM(&k.key.PublicKey), `{"alg":"HS256","kid":"`+k.kid+`","typ":"JWT"}`, pl), token.ErrAlgorithm},
		{"HS256 keyed with public key DER", hs256(publicDER(&k.key.PublicKey), `{"alg":"HS256","kid":"`+k.kid+`","typ":"JWT"}`, pl), token.ErrAlgorithm},
		{"HS256 header with RS256 signature", ours(`{"alg":"HS256","kid":"`+k.kid+`"}`, pl), token.ErrAlgorithm},
		{"RS512 by our key", rs512(k.key, `{"alg":"RS512","kid":"`+k.kid+`","typ":"JWT"}`, pl), token.ErrAlgorithm},
		{"RS256 header with RS512 signature", rs512(k.key, hdr, pl), token.ErrSignature},
		{"PS256 by our key", ps256(k.key, `{"alg":"PS256","kid":"`+k.kid+`","typ":"JWT"}`, pl), token.ErrAlgorithm},
		{"RS256 header with PSS signature", ps256(k.key, hdr, pl), token.ErrSignature},
		{"ES256", es256(k.ec, `{"alg":"ES256","kid":"`+k.kid+`","typ":"JWT"}`, pl), token.ErrAlgorithm},

		{"kid missing", ours(`{"alg":"RS256","typ":"JWT"}`, pl), token.ErrUnknownKey},
		{"kid empty", ours(`{"alg":"RS256","kid":""}`, pl), token.ErrUnknownKey},
		{"kid unknown", rawToken(k.other, hdrKid(k.otherKID), pl), token.ErrUnknownKey},
		{"kid of a weak key", rawToken(k.weak, hdrKid(k.weakKID), pl), token.ErrUnknownKey},
		{"our kid, other key", rawToken(k.other, hdr, pl), token.ErrSignature},
		{"embedded jwk of signing key", rawToken(k.other,
			`{"alg":"RS256","kid":"`+k.otherKID+`","jwk":`+jwkJSON(&k.other.PublicKey, k.otherKID)+`}`, pl), token.ErrUnknownKey},
		{"embedded jwk, our kid", rawToken(k.other,
			`{"alg":"RS256","kid":"`+k.kid+`","jwk":`+jwkJSON(&k.other.PublicKey, k.kid)+`}`, pl), token.ErrSignature},
		{"jku to attacker keys", rawToken(k.other, `{"alg":"RS256","kid":"`+k.otherKID+`","jku":"`+jkuURL+`/jwks"}`, pl), token.ErrUnknownKey},
		{"x5u to attacker cert", rawToken(k.other, `{"alg":"RS256","kid":"`+k.kid+`","x5u":"`+jkuURL+`/x5u"}`, pl), token.ErrSignature},
		{"x5c of attacker key", rawToken(k.other, `{"alg":"RS256","kid":"`+k.kid+`","x5c":["`+base64.StdEncoding.EncodeToString(publicDER(&k.other.PublicKey))+`"]}`, pl), token.ErrSignature},

		{"payload byte flipped", parts[0] + "." + flipChar(parts[1], len(parts[1])/2) + "." + parts[2], token.ErrSignature},
		{"signature byte flipped", parts[0] + "." + parts[1] + "." + flipChar(parts[2], 10), token.ErrSignature},
		{"signature truncated", parts[0] + "." + parts[1] + "." + enc.EncodeToString(mustDecode(parts[2])[:255]), token.ErrSignature},
		{"signature of another token", parts[0] + "." + parts[1] + "." + otherSig, token.ErrSignature},
		{"claims swapped in", parts[0] + "." + seg(payloadJSON(func(m map[string]any) { m["email"] = "root@example.com" })) + "." + parts[2], token.ErrSignature},

		{"wrong issuer", withClaim("iss", "https://evil.example.com"), token.ErrIssuer},
		{"issuer with trailing slash", withClaim("iss", testIssuer+"/"), token.ErrIssuer},
		{"issuer missing", withoutClaim("iss"), token.ErrIssuer},
		{"expired", withClaim("exp", testNow.Unix()-1), token.ErrExpired},
		{"expires now", withClaim("exp", testNow.Unix()), token.ErrExpired},
		{"exp negative", withClaim("exp", -5), token.ErrExpired},
		{"exp missing", withoutClaim("exp"), token.ErrInvalidClaims},
		{"nbf in the future", withClaim("nbf", testNow.Unix()+61), token.ErrNotYetValid},
		{"iat in the future", withClaim("iat", testNow.Unix()+3000), token.ErrNotYetValid},
		{"aud empty", withClaim("aud", []string{}), token.ErrInvalidClaims},
		{"aud missing", withoutClaim("aud"), token.ErrInvalidClaims},
	}
}

func mustDecode(s string) []byte {
	b, err := enc.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestVerify(t *testing.T) {
	var fetches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
	}))
	defer srv.Close()

	v := fixture(t).verifier()
	for _, tc := range verifyCases(t, srv.URL) {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(tc.raw)
			if tc.want == nil {
				if err != nil || c == nil {
					t.Fatalf("Verify = %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
			t.Log(err)
			if c != nil {
				t.Fatal("claims returned with an error")
			}
		})
	}
	if n := fetches.Load(); n != 0 {
		t.Errorf("Verify fetched %d URLs from token headers", n)
	}
}

func TestVerifySkewConfigurable(t *testing.T) {
	k := fixture(t)
	raw, err := token.Mint(k.signer(), func() *token.Claims {
		c := validClaims()
		c.NotBefore = testNow.Unix() + 30
		return c
	}())
	if err != nil {
		t.Fatal(err)
	}
	v := k.verifier()
	if _, err := v.Verify(raw); err != nil {
		t.Fatalf("default skew: %v", err)
	}
	v.Skew = 10 * time.Second
	if _, err := v.Verify(raw); !errors.Is(err, token.ErrNotYetValid) {
		t.Fatalf("10s skew: %v, want ErrNotYetValid", err)
	}
}

func TestVerifyFailsClosed(t *testing.T) {
	k := fixture(t)
	raw, err := token.Mint(k.signer(), validClaims())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.NewVerifier(nil, testIssuer, fixedNow).Verify(raw); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("nil key set: %v", err)
	}
	c := validClaims()
	c.Issuer = "x"
	raw2, _ := token.Mint(k.signer(), c)
	if _, err := token.NewVerifier(k.published(), "", fixedNow).Verify(raw2); !errors.Is(err, token.ErrIssuer) {
		t.Errorf("empty issuer: %v", err)
	}
	// Default clock is the real one: a token from 2023 is expired today.
	if _, err := token.NewVerifier(k.published(), testIssuer, nil).Verify(raw); !errors.Is(err, token.ErrExpired) {
		t.Errorf("real clock: %v", err)
	}
}

// Independent implementations agree with ours in both directions.
func TestPeerGolangJWT(t *testing.T) {
	k := fixture(t)
	raw, err := token.Mint(k.signer(), validClaims())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse(raw, func(tok *jwt.Token) (any, error) { return &k.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(testIssuer), jwt.WithAudience("aud-wiki"),
		jwt.WithTimeFunc(fixedNow), jwt.WithExpirationRequired())
	if err != nil || !parsed.Valid {
		t.Fatalf("golang-jwt rejects our token: %v", err)
	}

	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"aud": []string{"aud-wiki"}, "iss": testIssuer, "exp": testNow.Unix() + 60, "iat": testNow.Unix(),
		"nbf": testNow.Unix(), "sub": "u", "email": "e@example.com", "type": "app",
	})
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.verifier().Verify(s); err != nil {
		t.Fatalf("we reject golang-jwt's token: %v", err)
	}
}
