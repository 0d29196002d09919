package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
)

const (
	// maxBody bounds every answer read from GitHub.
	maxBody = 1 << 20
	// perPage and maxPages bound pagination: at most 1,000 e-mail addresses, organizations or
	// teams. A user with more fails the login rather than getting a truncated list, which could
	// dodge an exclude rule on an organization that did not fit.
	perPage  = 100
	maxPages = 10
)

// exchange redeems the authorization code for an access token.
func (c *Connector) exchange(ctx context.Context, code, redirectURI, verifier string) (string, error) {
	form := url.Values{
		"client_id":     {c.cfg.ClientID},
		"client_secret": {c.secret},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.ep.token, strings.NewReader(form.Encode()))
	if err != nil {
		return "", identity.Fail(reasonTokenExchange, fmt.Errorf("token request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	body, _, err := c.do(req)
	if err != nil {
		return "", identity.Fail(reasonTokenExchange, err)
	}
	// GitHub answers errors such as bad_verification_code with HTTP 200 and an error field.
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := decodeJSON(body, &tr); err != nil {
		return "", identity.Fail(reasonTokenExchange, fmt.Errorf("decoding the token response: %w", err))
	}
	if tr.Error != "" {
		return "", identity.Failf(reasonTokenExchange, "GitHub returned error %q: %q", short(tr.Error), short(tr.Description))
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "bearer") {
		return "", identity.Failf(reasonTokenExchange, "the token response has no bearer access token (token_type %q)", short(tr.TokenType))
	}
	return tr.AccessToken, nil
}

// do sends req and returns its body, bounded; a status other than 200 is an error.
func (c *Connector) do(req *http.Request) ([]byte, http.Header, error) {
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", req.URL.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s %s answered HTTP %d", req.Method, req.URL.Redacted(), resp.StatusCode)
	}
	if len(b) > maxBody {
		return nil, nil, fmt.Errorf("%s answered more than %d bytes", req.URL.Redacted(), maxBody)
	}
	return b, resp.Header, nil
}

// apiURL returns the API URL of path with a page size.
func (c *Connector) apiURL(path string) *url.URL {
	u := *c.api
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return &u
}

// get reads one API resource into v and returns the answer's headers.
func (c *Connector) get(ctx context.Context, u *url.URL, token string, v any) (http.Header, error) {
	body, h, err := c.getRaw(ctx, u, token)
	if err != nil {
		return nil, err
	}
	if err := decodeJSON(body, v); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", u.Path, err)
	}
	return h, nil
}

func (c *Connector) getRaw(ctx context.Context, u *url.URL, token string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("request %s: %w", u.Path, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "Gatehouse")
	return c.do(req)
}

// paginate calls page with each page of a list resource, following Link rel="next" for at most
// maxPages pages, and only on the API's own origin (the access token goes with every request, so
// a next link elsewhere is never followed).
func (c *Connector) paginate(ctx context.Context, path, token string, page func([]byte) error) error {
	u := c.apiURL(path)
	u.RawQuery = url.Values{"per_page": {fmt.Sprint(perPage)}}.Encode()
	for n := 0; ; n++ {
		if n == maxPages {
			return fmt.Errorf("%s has more than %d pages", path, maxPages)
		}
		body, h, err := c.getRaw(ctx, u, token)
		if err != nil {
			return err
		}
		if err := page(body); err != nil {
			return fmt.Errorf("decoding %s: %w", path, err)
		}
		next := nextLink(h.Values("Link"))
		if next == "" {
			return nil
		}
		nu, err := url.Parse(next)
		if err != nil || nu.Scheme != c.api.Scheme || nu.Host != c.api.Host || nu.User != nil {
			return fmt.Errorf("%s: refusing to follow the next link %q", path, short(next))
		}
		u = nu
	}
}

// nextLink returns the rel="next" target of Link headers (RFC 8288), or "".
func nextLink(headers []string) string {
	for _, h := range headers {
		for _, part := range strings.Split(h, ",") {
			part = strings.TrimSpace(part)
			end := strings.Index(part, ">")
			if !strings.HasPrefix(part, "<") || end < 0 {
				continue
			}
			target, params := part[1:end], part[end+1:]
			for _, p := range strings.Split(params, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target
					}
				}
			}
		}
	}
	return ""
}

// decodeJSON decodes exactly one JSON value.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
