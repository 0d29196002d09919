package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// accessApp is an application as the applications page lists it, with its policies.
type accessApp struct {
	store.Application
	Links []accessLink
}

// accessLink is one policy of an application with the policy's decision.
type accessLink struct {
	store.PolicyLink
	Name, Decision string
}

// policyRow is a policy with its rules as JSON (the configuration's own field names).
type policyRow struct {
	store.Policy
	Rules string
}

// testResult is the policy tester's answer.
type testResult struct {
	App, Action, PolicyID, PolicyName string
	Reasons                           []string
	// Known: the e-mail is a registered user, whose last login's identity (groups, login
	// method, IdP attributes) was evaluated.
	Known bool
}

// access is the applications and policies page (read-only: the configuration file owns them)
// with the policy tester: would this user, from this address and country, with this identity
// provider and login method, reach this application, and which policy decides?
func (c *Console) access(q *req) error {
	ctx := q.r.Context()
	cfg, err := c.Store.GetConfig(ctx)
	if err != nil {
		return adminError("The configuration", err)
	}
	byID := map[string]store.Policy{}
	var policies []policyRow
	for _, p := range cfg.Policies {
		byID[p.ID] = p
		m := map[string]any{"include": p.Include}
		if len(p.Require) > 0 {
			m["require"] = p.Require
		}
		if len(p.Exclude) > 0 {
			m["exclude"] = p.Exclude
		}
		rules, _ := json.MarshalIndent(m, "", "  ")
		policies = append(policies, policyRow{Policy: p, Rules: string(rules)})
	}
	var apps []accessApp
	for _, a := range cfg.Applications {
		row := accessApp{Application: a}
		links := slices.Clone(a.Policies)
		slices.SortFunc(links, func(x, y store.PolicyLink) int { return x.Precedence - y.Precedence })
		for _, l := range links {
			p := byID[l.Ref]
			row.Links = append(row.Links, accessLink{PolicyLink: l, Name: p.Name, Decision: p.Decision})
		}
		apps = append(apps, row)
	}
	v := q.r.URL.Query()
	data := map[string]any{"Apps": apps, "Policies": policies, "IdPs": cfg.IdentityProviders, "F": v}
	if appID := v.Get("app"); appID != "" {
		res, err := c.testPolicy(q, cfg, appID)
		if err != nil {
			return err
		}
		data["Result"] = res
	}
	return c.render(q, "access.html", "Applications and policies", data)
}

// testPolicy evaluates the tester's form against the published configuration.
func (c *Console) testPolicy(q *req, cfg *store.Config, appID string) (*testResult, error) {
	v := q.r.URL.Query()
	app := q.snap.Apps[appID]
	if app == nil {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad-filter", "There is no such application.", nil)
	}
	email := strings.TrimSpace(v.Get("email"))
	if email == "" {
		return nil, httpx.Errorf(http.StatusBadRequest, "bad-filter", "Give the e-mail address of the user to test.", nil)
	}
	res := &testResult{App: app.Name}
	id := &identity.Identity{Email: strings.ToLower(email)}
	u, err := c.Store.GetUserByEmail(q.r.Context(), email)
	switch {
	case err == nil:
		var last identity.Identity
		if json.Unmarshal(u.LastSeen.Identity, &last) == nil && last.Email != "" {
			id, res.Known = &last, true
		}
		id.UserID = u.ID
	case errors.Is(err, store.ErrNotFound):
	case errors.As(err, new(*mailaddr.Error)):
		return nil, httpx.Errorf(http.StatusBadRequest, "bad-filter", "That is not an e-mail address.", err)
	default:
		return nil, adminError("The user", err)
	}
	if idp := v.Get("idp"); idp != "" {
		for _, p := range cfg.IdentityProviders {
			if p.ID == idp {
				id.IdP = identity.IdP{ID: p.ID, Type: p.Type}
			}
		}
	}
	switch v.Get("method") {
	case "mfa":
		id.AMR = []string{"pwd", "mfa"}
	case "pwd":
		id.AMR = []string{"pwd"}
	}
	in := &policy.Input{Identity: id, Country: strings.ToUpper(strings.TrimSpace(v.Get("country")))}
	if s := strings.TrimSpace(v.Get("ip")); s != "" {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, httpx.Errorf(http.StatusBadRequest, "bad-filter", "The address is not an IP address.", err)
		}
		in.ClientIP = ip
	}
	d := app.Policies.Evaluate(in)
	res.Action, res.PolicyID, res.Reasons = d.Action.String(), d.PolicyID, d.Reasons
	for _, p := range cfg.Policies {
		if p.ID == d.PolicyID {
			res.PolicyName = p.Name
		}
	}
	return res, nil
}

// idpRow is an identity provider as the console shows it: never its configuration, which
// holds secrets.
type idpRow struct {
	ID, Name, Type string
	SCIM           bool
	// Test is the identity provider test's path (a login that shows the identity it produces
	// and creates no session).
	Test string
}

// tokenRow is a service token without its secret's hash: API reports whether the console
// may rotate it (the file's are the file's), ETag guards the rotation.
type tokenRow struct {
	ID, Name, ClientID string
	ExpiresAt          time.Time
	Disabled, Expired  bool
	API                bool
	ETag               string
}

// identities is the identity providers and service tokens page (read-only while the file owns
// them), with the identity provider test, a new service token form and rotation of API tokens.
func (c *Console) identities(q *req) error {
	return c.renderIdentities(q, http.StatusOK, nil, formProblems{})
}

// renderIdentities renders the identities page; form (when set) is a refused new token form
// shown again with its problems, problems those of a refused rotation.
func (c *Console) renderIdentities(q *req, status int, form *tokenForm, problems formProblems) error {
	// A post's answer is the page's (its navigation, where its forms return).
	q.path = "identities"
	cfg, err := c.Store.GetConfig(q.r.Context())
	if err != nil {
		return adminError("The configuration", err)
	}
	var idps []idpRow
	for _, p := range cfg.IdentityProviders {
		idps = append(idps, idpRow{ID: p.ID, Name: p.Name, Type: p.Type, SCIM: p.SCIMConfig != nil && p.SCIMConfig.Enabled,
			Test: q.snap.Profile.Path("test-idp/" + url.PathEscape(p.ID))})
	}
	now := c.now()
	var tokens []tokenRow
	for _, t := range cfg.ServiceTokens {
		exp := session.ServiceTokenExpiry(&t)
		tokens = append(tokens, tokenRow{ID: t.ID, Name: t.Name, ClientID: t.ClientID, ExpiresAt: exp, Disabled: t.Disabled,
			Expired: !exp.IsZero() && !exp.After(now), API: t.ManagedBy == store.ManagedByAPI, ETag: c.Admin.ETag(&t)})
	}
	if form == nil {
		form = &tokenForm{}
	}
	org := cfg.Organization
	return c.renderStatus(q, status, "identities.html", "Identity providers and service tokens", map[string]any{"IdPs": idps, "Tokens": tokens,
		"AuthDomain": org.AuthDomain, "Wire": q.snap.Profile.Name, "SessionDuration": org.SessionDuration, "Form": form, "Problems": problems})
}
