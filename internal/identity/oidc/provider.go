package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Response size limits: every body read from the provider is bounded.
const (
	maxDiscoveryBytes = 256 << 10
	maxJWKSBytes      = 256 << 10
	maxTokenBytes     = 256 << 10
	maxUserinfoBytes  = 256 << 10
	maxErrorBytes     = 16 << 10
)

const (
	// metadataMaxAge is how long discovered metadata is used before it is fetched again; a failed
	// refresh keeps the old document.
	metadataMaxAge = 24 * time.Hour
	// retryInterval rate-limits fetches after a failure and JWKS refetches on an unknown kid, so
	// that a flood of logins (or of tokens with random kids) cannot hammer the provider.
	retryInterval = 10 * time.Second
)

// metadata is what Gatehouse needs from the provider's discovery document (or the manual
// configuration).
type metadata struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	// IssParameterSupported is RFC 9207's authorization_response_iss_parameter_supported: the
	// provider always sends `iss` with authorization responses, so a response without one is
	// rejected.
	IssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// authMethod returns the token endpoint client authentication to use: client_secret_basic unless
// the provider says it only supports client_secret_post.
func (m *metadata) authMethod() string {
	if !slices.Contains(m.TokenAuthMethods, "client_secret_basic") && slices.Contains(m.TokenAuthMethods, "client_secret_post") {
		return "client_secret_post"
	}
	return "client_secret_basic"
}

// metadataCache holds the provider metadata, discovered lazily (New does no I/O).
type metadataCache struct {
	mu        sync.Mutex
	md        *metadata
	fetched   time.Time
	attempted time.Time
	lastErr   error
}

// provider returns the provider metadata, discovering it when needed.
func (c *Connector) provider(ctx context.Context) (*metadata, error) {
	if c.static != nil {
		return c.static, nil
	}
	mc := &c.meta
	mc.mu.Lock()
	defer mc.mu.Unlock()
	now := c.now()
	if mc.md != nil && now.Sub(mc.fetched) < metadataMaxAge {
		return mc.md, nil
	}
	if !mc.attempted.IsZero() && now.Sub(mc.attempted) < retryInterval && now.Sub(mc.attempted) >= 0 {
		if mc.md != nil {
			return mc.md, nil
		}
		return nil, fmt.Errorf("discovery failed less than %s ago: %w", retryInterval, mc.lastErr)
	}
	mc.attempted = now
	// Discovery runs under the lock: concurrent logins wait for one fetch instead of each
	// starting their own; the HTTP client's timeout and ctx bound the wait.
	md, err := c.discover(ctx)
	if err != nil {
		mc.lastErr = err
		if mc.md != nil {
			c.log().Warn("oidc discovery refresh failed; keeping the previous metadata", "idp", c.id, "err", err)
			return mc.md, nil
		}
		return nil, err
	}
	mc.md, mc.fetched, mc.lastErr = md, now, nil
	return md, nil
}

func (c *Connector) discover(ctx context.Context) (*metadata, error) {
	u := strings.TrimSuffix(c.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("discovery request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	a, err := c.do(req, maxDiscoveryBytes)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if a.status != http.StatusOK {
		return nil, fmt.Errorf("discovery: %s answered HTTP %d", u, a.status)
	}
	var md metadata
	if err := json.Unmarshal(a.body, &md); err != nil {
		return nil, fmt.Errorf("discovery: decoding the document: %w", err)
	}
	// OpenID Connect Discovery §4.3: the issuer in the document must be exactly the one the
	// document was fetched for (else one provider could impersonate another).
	if md.Issuer != c.cfg.Issuer {
		return nil, fmt.Errorf("discovery: document issuer %q is not the configured issuer %q", md.Issuer, c.cfg.Issuer)
	}
	for _, f := range []struct{ name, v string }{
		{"authorization_endpoint", md.AuthorizationEndpoint},
		{"token_endpoint", md.TokenEndpoint},
		{"jwks_uri", md.JWKSURI},
	} {
		if f.v == "" {
			return nil, fmt.Errorf("discovery: document has no %s", f.name)
		}
		if _, msg := parseEndpoint(f.v); msg != "" {
			return nil, fmt.Errorf("discovery: %s %s", f.name, msg)
		}
	}
	if md.UserinfoEndpoint != "" {
		if _, msg := parseEndpoint(md.UserinfoEndpoint); msg != "" {
			return nil, fmt.Errorf("discovery: userinfo_endpoint %s", msg)
		}
	}
	return &md, nil
}

// answer is a bounded HTTP response.
type answer struct {
	body   []byte
	status int
	header http.Header
}

// do sends req and reads at most limit bytes of the answer; a longer 200 body is an error, a
// longer error body is cut.
func (c *Connector) do(req *http.Request, limit int64) (*answer, error) {
	return doBounded(c.client, req, limit)
}

func doBounded(client *http.Client, req *http.Request, limit int64) (*answer, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Keep a little of an error answer for the log, never the whole thing.
		limit = min(limit, maxErrorBytes)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", req.URL.Redacted(), err)
	}
	a := &answer{body: b, status: resp.StatusCode, header: resp.Header}
	if int64(len(b)) > limit {
		if resp.StatusCode != http.StatusOK {
			a.body = b[:limit]
			return a, nil
		}
		return nil, fmt.Errorf("%s answered more than %d bytes", req.URL.Redacted(), limit)
	}
	return a, nil
}

// mediaType returns the media type of a Content-Type header, lower-cased, or "".
func mediaType(h string) string {
	mt, _, err := mime.ParseMediaType(h)
	if err != nil {
		return ""
	}
	return mt
}

// decodeObject decodes a JSON object, numbers kept as json.Number. Trailing data is an error.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON object")
	}
	return m, nil
}

// short trims a provider-supplied string for the auth log.
func short(s string) string {
	const n = 200
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
