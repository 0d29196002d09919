// Package github implements the GitHub login method (identity provider type "github"): an OAuth
// App authorization-code login (with state and PKCE S256), the user's verified primary e-mail
// address from the GitHub API, and the user's organizations and team slugs for the
// github-organization policy selector.
//
//	config:
//	  client_id: Iv1.0123456789abcdef
//	  client_secret: {env: GITHUB_CLIENT_SECRET}
//
// The OAuth App's callback URL is Gatehouse's callback (<auth domain>/cdn-cgi/access/callback in
// the Cloudflare wire profile). Gatehouse asks for the scopes read:user, user:email and read:org.
//
// Every login failure is an *identity.LoginError with one of the reasons github-callback-malformed,
// github-state-missing, github-state-mismatch, github-idp-error, github-code-missing,
// github-flow-invalid, github-token-exchange-failed, github-api-failed, github-email-missing,
// github-email-unverified or github-email-invalid.
package github

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/configfield"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Scopes are the OAuth scopes Gatehouse requests.
const Scopes = "read:user user:email read:org"

// Failure reasons.
const (
	reasonCallbackMalformed = "github-callback-malformed"
	reasonStateMissing      = "github-state-missing"
	reasonStateMismatch     = "github-state-mismatch"
	reasonIdPError          = "github-idp-error"
	reasonCodeMissing       = "github-code-missing"
	reasonFlowInvalid       = "github-flow-invalid"
	reasonTokenExchange     = "github-token-exchange-failed"
	reasonAPI               = "github-api-failed"
	reasonEmailMissing      = "github-email-missing"
	reasonEmailUnverified   = "github-email-unverified"
	reasonEmailInvalid      = "github-email-invalid"
)

// Config is the configuration of a github identity provider.
type Config struct {
	ClientID     string
	ClientSecret configfield.SecretRef
}

// FieldError and Errors are the configuration problems, the same types package config reports
// for every identity provider.
type (
	FieldError = configfield.FieldError
	Errors     = configfield.Errors
)

// ParseConfig decodes and validates the raw `config` object of a github identity provider. It
// reports every problem at once as Errors, sorted by field, never with a secret value in them. It
// does no I/O.
func ParseConfig(raw map[string]any) (*Config, error) {
	var errs Errors
	add := func(f, msg string) { errs = append(errs, FieldError{Field: f, Msg: msg}) }
	cfg := &Config{}
	for k, v := range raw {
		switch k {
		case "client_id":
			s, ok := v.(string)
			switch {
			case !ok:
				add(k, "expected a string")
			case s == "":
				add(k, "must not be empty")
			}
			cfg.ClientID = s
		case "client_secret":
			ref, err := configfield.ParseSecretRef(v)
			switch {
			case err != nil:
				add(k, err.Error())
			case ref.IsZero():
				add(k, "must not be empty")
			}
			cfg.ClientSecret = ref
		default:
			add(k, fmt.Sprintf("unknown field %q (github accepts: client_id, client_secret)", k))
		}
	}
	for _, k := range []string{"client_id", "client_secret"} {
		if _, ok := raw[k]; !ok {
			add(k, "is required")
		}
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, errs
	}
	return cfg, nil
}

// endpoints are GitHub's URLs; only tests use others.
type endpoints struct {
	authorize, token, api string
}

var githubEndpoints = endpoints{
	authorize: "https://github.com/login/oauth/authorize",
	token:     "https://github.com/login/oauth/access_token",
	api:       "https://api.github.com",
}

// Connector is one configured GitHub identity provider. It is safe for concurrent use.
type Connector struct {
	id     string
	cfg    *Config
	secret string
	ep     endpoints
	api    *url.URL
	client *http.Client
}

var (
	_ identity.RedirectConnector = (*Connector)(nil)
	_ identity.CallbackConnector = (*Connector)(nil)
)

// New returns the connector of a github identity provider: it parses idp.Config and resolves
// the client secret. It does no network I/O.
func New(idp store.IdentityProvider, env identity.Env) (*Connector, error) {
	return newConnector(idp, env, githubEndpoints)
}

// newConnector is New with other endpoints. GitHub cannot be reached from tests: they point the
// connector at a fake GitHub through this hook, which configuration cannot reach.
func newConnector(idp store.IdentityProvider, env identity.Env, ep endpoints) (*Connector, error) {
	cfg, err := ParseConfig(idp.Config)
	if err != nil {
		return nil, fmt.Errorf("identity provider %q: %w", idp.ID, err)
	}
	secret, err := cfg.ClientSecret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("identity provider %q: client_secret: %w", idp.ID, err)
	}
	api, err := url.Parse(ep.api)
	if err != nil {
		return nil, fmt.Errorf("github api URL: %w", err)
	}
	c := &Connector{id: idp.ID, cfg: cfg, secret: secret, ep: ep, api: api, client: env.HTTPClient}
	if c.client == nil {
		c.client = &http.Client{Timeout: 30 * time.Second}
	}
	return c, nil
}

// Type returns "github".
func (c *Connector) Type() string { return store.IdPGitHub }

const (
	flowVerifier    = "pkce_verifier"
	flowRedirectURI = "redirect_uri"
)

// StartLogin returns GitHub's authorization URL for the flow req.State.
func (c *Connector) StartLogin(_ context.Context, req identity.LoginRequest) (*identity.LoginStart, error) {
	if req.State == "" || req.CallbackURL == "" {
		return nil, identity.Failf(reasonFlowInvalid, "login request without state or callback URL")
	}
	u, err := url.Parse(c.ep.authorize)
	if err != nil {
		return nil, fmt.Errorf("github: authorize URL: %w", err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	verifier := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	u.RawQuery = url.Values{
		"client_id":    {c.cfg.ClientID},
		"redirect_uri": {req.CallbackURL},
		"scope":        {Scopes},
		"state":        {req.State},
		// GitHub supports PKCE for OAuth Apps; it binds the code to this flow on top of state.
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}.Encode()
	return &identity.LoginStart{
		RedirectURL: u.String(),
		FlowData:    map[string]string{flowVerifier: verifier, flowRedirectURI: req.CallbackURL},
	}, nil
}

const maxCallbackQuery = 16 << 10

func parseCallback(r *http.Request) (url.Values, error) {
	if r == nil || r.URL == nil {
		return nil, identity.Failf(reasonCallbackMalformed, "no request URL")
	}
	if len(r.URL.RawQuery) > maxCallbackQuery {
		return nil, identity.Failf(reasonCallbackMalformed, "query is %d bytes (at most %d)", len(r.URL.RawQuery), maxCallbackQuery)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, identity.Fail(reasonCallbackMalformed, fmt.Errorf("parsing the query: %w", err))
	}
	for _, k := range []string{"state", "code", "error"} {
		if len(q[k]) > 1 {
			return nil, identity.Failf(reasonCallbackMalformed, "parameter %q appears %d times", k, len(q[k]))
		}
	}
	return q, nil
}

// CallbackState returns the `state` query parameter of the callback, verbatim.
func (c *Connector) CallbackState(r *http.Request) (string, error) {
	q, err := parseCallback(r)
	if err != nil {
		return "", err
	}
	if s := q.Get("state"); s != "" {
		return s, nil
	}
	return "", identity.Failf(reasonStateMissing, "callback has no state parameter")
}

// HandleCallback exchanges the code and reads the user, the verified primary e-mail address,
// the organizations and the teams from the GitHub API.
func (c *Connector) HandleCallback(ctx context.Context, r *http.Request, req identity.LoginRequest, flow map[string]string) (*identity.Identity, error) {
	q, err := parseCallback(r)
	if err != nil {
		return nil, err
	}
	state := q.Get("state")
	switch {
	case state == "":
		return nil, identity.Failf(reasonStateMissing, "callback has no state parameter")
	case req.State == "" || subtle.ConstantTimeCompare([]byte(state), []byte(req.State)) != 1:
		return nil, identity.Failf(reasonStateMismatch, "callback state does not match the login flow")
	}
	if e := q.Get("error"); e != "" {
		return nil, identity.Failf(reasonIdPError, "GitHub returned error %q: %q", short(e), short(q.Get("error_description")))
	}
	code := q.Get("code")
	if code == "" {
		return nil, identity.Failf(reasonCodeMissing, "callback has neither code nor error")
	}
	verifier, redirectURI := flow[flowVerifier], flow[flowRedirectURI]
	if verifier == "" || redirectURI == "" {
		return nil, identity.Failf(reasonFlowInvalid, "flow data lacks the PKCE verifier or redirect URI")
	}
	token, err := c.exchange(ctx, code, redirectURI, verifier)
	if err != nil {
		return nil, err
	}
	return c.identity(ctx, token)
}

// identity reads the user's identity with an access token.
func (c *Connector) identity(ctx context.Context, token string) (*identity.Identity, error) {
	var user struct {
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if _, err := c.get(ctx, c.apiURL("/user"), token, &user); err != nil {
		return nil, identity.Fail(reasonAPI, err)
	}
	email, err := c.primaryEmail(ctx, token)
	if err != nil {
		return nil, err
	}
	orgs, err := c.orgs(ctx, token)
	if err != nil {
		return nil, identity.Fail(reasonAPI, err)
	}
	id := &identity.Identity{
		Email:      email,
		Name:       user.Name,
		IdP:        identity.IdP{ID: c.id, Type: store.IdPGitHub},
		GitHubOrgs: orgs,
	}
	if id.Name == "" {
		id.Name = user.Login
	}
	return id, nil
}

// primaryEmail returns the user's primary address if GitHub has verified it. The public profile
// address is never used: anyone can type any address there.
func (c *Connector) primaryEmail(ctx context.Context, token string) (string, error) {
	type email struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	var primary *email
	err := c.paginate(ctx, "/user/emails", token, func(page []byte) error {
		var es []email
		if err := decodeJSON(page, &es); err != nil {
			return err
		}
		for i := range es {
			if es[i].Primary && primary == nil {
				primary = &es[i]
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return "", identity.Fail(reasonAPI, err)
	case primary == nil:
		return "", identity.Failf(reasonEmailMissing, "GitHub lists no primary e-mail address")
	case !primary.Verified:
		return "", identity.Failf(reasonEmailUnverified, "the primary e-mail address is not verified on GitHub")
	}
	addr, err := mailaddr.Normalize(primary.Email)
	if err != nil {
		return "", identity.Fail(reasonEmailInvalid, fmt.Errorf("the primary e-mail address: %w", err))
	}
	return addr, nil
}

// orgs returns the user's organizations with the slugs of the user's teams in each, sorted.
func (c *Connector) orgs(ctx context.Context, token string) ([]identity.GitHubOrg, error) {
	byName := map[string]*identity.GitHubOrg{}
	org := func(login string) *identity.GitHubOrg {
		k := strings.ToLower(login)
		if o := byName[k]; o != nil {
			return o
		}
		o := &identity.GitHubOrg{Name: login}
		byName[k] = o
		return o
	}
	err := c.paginate(ctx, "/user/orgs", token, func(page []byte) error {
		var os []struct {
			Login string `json:"login"`
		}
		if err := decodeJSON(page, &os); err != nil {
			return err
		}
		for _, o := range os {
			if o.Login != "" {
				org(o.Login)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = c.paginate(ctx, "/user/teams", token, func(page []byte) error {
		var ts []struct {
			Slug         string `json:"slug"`
			Organization struct {
				Login string `json:"login"`
			} `json:"organization"`
		}
		if err := decodeJSON(page, &ts); err != nil {
			return err
		}
		for _, t := range ts {
			if t.Slug == "" || t.Organization.Login == "" {
				continue
			}
			o := org(t.Organization.Login)
			if !slices.Contains(o.Teams, t.Slug) {
				o.Teams = append(o.Teams, t.Slug)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]identity.GitHubOrg, 0, len(byName))
	for _, o := range byName {
		slices.Sort(o.Teams)
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b identity.GitHubOrg) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out, nil
}

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
