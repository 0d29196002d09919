package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var configTests = []suiteTest{
	{"EmptyHasVersionZero", testConfigEmpty},
	{"VersionIncrements", testConfigVersion},
	{"RoundTrip", testConfigRoundTrip},
	{"AUD", testConfigAUD},
	{"UpdaterErrorAborts", testConfigUpdaterError},
	{"ManagedBy", testConfigManagedBy},
}

// testConfigManagedBy: provenance is stored per object; an object stored without one is the
// file's (every object stored before provenance existed came from the file); an unknown value
// is refused and changes nothing.
func testConfigManagedBy(t *testing.T, s store.Store, _ *Clock) {
	ctx := t.Context()
	got, err := s.UpdateConfig(ctx, func(c *store.Config) error {
		c.Applications = []store.Application{{ID: "f", Name: "F"}, {ID: "a", Name: "A", ManagedBy: store.ManagedByAPI}}
		c.Policies = []store.Policy{{ID: "p", Decision: store.DecisionAllow, ManagedBy: store.ManagedByFile}}
		c.MCPServers = []store.MCPServer{{ID: "m", Name: "M", URL: "https://m.example.com", ManagedBy: store.ManagedByAPI}}
		return nil
	})
	ok(t, "UpdateConfig", err)
	provenance := func(c *store.Config) map[string]string {
		m := map[string]string{}
		for _, o := range c.Objects() {
			m[o.Section+"/"+o.ID] = *o.ManagedBy
		}
		return m
	}
	want := map[string]string{"applications/f": store.ManagedByFile, "applications/a": store.ManagedByAPI,
		"policies/p": store.ManagedByFile, "mcp_servers/m": store.ManagedByAPI}
	equal(t, "UpdateConfig provenance", provenance(got), want)
	read, err := s.GetConfig(ctx)
	ok(t, "GetConfig", err)
	equal(t, "GetConfig provenance", provenance(read), want)

	_, err = s.UpdateConfig(ctx, func(c *store.Config) error {
		c.Applications[0].ManagedBy = "console"
		c.Applications = append(c.Applications, store.Application{ID: "new", Name: "New"})
		return nil
	})
	if err == nil {
		t.Fatal("UpdateConfig stored managed_by \"console\"")
	}
	after, err := s.GetConfig(ctx)
	ok(t, "GetConfig", err)
	equal(t, "configuration after a refused provenance", after, read)
}

func testConfigEmpty(t *testing.T, s store.Store, _ *Clock) {
	cfg, err := s.GetConfig(t.Context())
	ok(t, "GetConfig", err)
	if cfg.Version != 0 {
		t.Errorf("Version = %d, want 0", cfg.Version)
	}
	if n := len(cfg.IdentityProviders) + len(cfg.Applications) + len(cfg.Policies) + len(cfg.Groups) +
		len(cfg.Lists) + len(cfg.ServiceTokens) + len(cfg.MCPServers) + len(cfg.MCPPortals); n != 0 {
		t.Errorf("empty store returned %d configuration objects", n)
	}
}

func testConfigVersion(t *testing.T, s store.Store, _ *Clock) {
	ctx := t.Context()
	for want := int64(1); want <= 3; want++ {
		got, err := s.UpdateConfig(ctx, func(c *store.Config) error {
			if c.Version != want-1 {
				t.Errorf("updater saw Version %d, want %d", c.Version, want-1)
			}
			c.Organization.Name = "org"
			c.Version = 1000 // ignored: the store assigns the version
			return nil
		})
		ok(t, "UpdateConfig", err)
		if got.Version != want {
			t.Errorf("UpdateConfig returned Version %d, want %d", got.Version, want)
		}
		cur, err := s.GetConfig(ctx)
		ok(t, "GetConfig", err)
		if cur.Version != want {
			t.Errorf("GetConfig Version = %d, want %d", cur.Version, want)
		}
	}
}

const (
	fixedAUD = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	otherAUD = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
)

// fullConfig sets every field of every configuration type. Its first application has an AUD, the
// second none.
func fullConfig() *store.Config {
	yes := true
	tz := time.FixedZone("UTC+5:30", 5*60*60+30*60)
	rules := []store.Rule{
		{Email: &store.EmailRule{Email: "alice@example.com"}},
		{EmailDomain: &store.EmailDomainRule{Domain: "example.com"}},
		{EmailList: &store.ListRef{ID: "list-emails"}},
		{Everyone: &store.Empty{}},
		{IP: &store.IPRule{IP: "10.0.0.0/8"}},
		{IPList: &store.ListRef{ID: "list-ips"}},
		{Geo: &store.GeoRule{CountryCode: "DE"}},
		{Group: &store.GroupRef{ID: "group-eng"}},
		{LoginMethod: &store.LoginMethodRule{ID: "idp-oidc"}},
		{AuthMethod: &store.AuthMethodRule{AuthMethod: "mfa"}},
		{ServiceToken: &store.ServiceTokenRule{TokenID: "st-ci"}},
		{AnyValidServiceToken: &store.Empty{}},
		{SAML: &store.SAMLRule{AttributeName: "role", AttributeValue: "admin", IdentityProviderID: "idp-saml"}},
		{OIDC: &store.OIDCRule{ClaimName: "groups", ClaimValue: "eng", IdentityProviderID: "idp-oidc"}},
		{GitHubOrganization: &store.GitHubOrganizationRule{Name: "example", Team: "platform", IdentityProviderID: "idp-github"}},
		{GitHubOrgAlias: &store.GitHubOrganizationRule{Name: "example", Team: "sre", IdentityProviderID: "idp-github"}},
		{Okta: &store.OktaGroupRule{Name: "Engineering", IdentityProviderID: "idp-saml"}},
		{AzureAD: &store.AzureADGroupRule{ID: "00g1", IdentityProviderID: "idp-oidc"}},
		{AzureADAlias: &store.AzureADGroupRule{ID: "00g2", IdentityProviderID: "idp-oidc"}},
		{GSuite: &store.GSuiteGroupRule{Email: "eng@example.com", IdentityProviderID: "idp-oidc"}},
	}
	cfg := &store.Config{
		Organization: store.Organization{
			Name:                  "Example Inc.",
			AuthDomain:            "auth.example.com",
			SessionDuration:       store.Duration(12 * time.Hour),
			Wire:                  store.WireCloudflare,
			DenyUnmatchedRequests: true,
			KeyRotationInterval:   store.Duration(1008 * time.Hour),
			KeyOverlap:            store.Duration(168 * time.Hour),
			CustomDenyMessage:     "Ask IT <it@example.com> & wait",
			LoginDesign: &store.LoginDesign{BackgroundColor: "#0b1f3a", TextColor: "#ffffff", LogoPath: "https://example.com/org.svg",
				HeaderText: "Example <SSO>", FooterText: "Help: it@example.com"},
		},
		IdentityProviders: []store.IdentityProvider{
			{ID: "idp-oidc", Name: "Okta", Type: store.IdPOIDC, Config: map[string]any{
				"client_id": "abc",
				"scopes":    []any{"openid", "email"},
				"pkce":      true,
				"max_age":   float64(300),
				"claims":    map[string]any{"groups": "groups", "nested": []any{float64(1), "two", nil}},
			}},
			{ID: "idp-pin", Name: "One-time PIN", Type: store.IdPOneTimePIN, SCIMConfig: &store.SCIMConfig{
				Enabled: true, UserDeprovision: true, SeatDeprovision: true, IdentityUpdateBehavior: store.SCIMUpdateReauth,
			}},
		},
		Applications: []store.Application{
			{
				ID: "app-wiki", Type: store.AppSelfHosted, Name: "Wiki", AUD: fixedAUD,
				Destinations:             []store.Destination{{Type: "public", URI: "wiki.example.com"}, {Type: "private", URI: "10.1.2.3/admin"}},
				Upstream:                 "http://127.0.0.1:8080",
				SessionDuration:          store.Duration(90 * time.Minute),
				AllowedIdPs:              []string{"idp-oidc", "idp-pin"},
				AutoRedirectToIdentity:   true,
				Policies:                 []store.PolicyLink{{Ref: "pol-allow", Precedence: 1, Role: store.ConsoleRoleAuditor}, {Ref: "pol-deny", Precedence: 2}},
				CustomDenyMessage:        "no",
				CustomDenyURL:            "https://example.com/denied",
				CustomNonIdentityDenyURL: "https://example.com/denied-machine",
				SameSiteCookieAttribute:  "strict",
				HTTPOnlyCookieAttribute:  &yes,
				CORSHeaders: &store.CORSHeaders{
					AllowAllHeaders: true, AllowAllMethods: true, AllowAllOrigins: true, AllowCredentials: true,
					AllowedHeaders: []string{"X-A"}, AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"https://a.example.com"},
					MaxAge: 600,
				},
				OptionsPreflightBypass: true,
				ServiceAuth401Redirect: true,
				AppLauncherVisible:     true,
				LogoURL:                "https://example.com/logo.png",
			},
			{ID: "app-grafana", Type: store.AppSelfHosted, Name: "Grafana", Domain: "grafana.example.com/d",
				Destinations: []store.Destination{{Type: "public", URI: "grafana.example.com"}},
				PromptProtection: &store.PromptProtection{Enabled: true, BlockTopics: []string{"intent_jailbreak"},
					FailMode: store.PromptFailOpen, BlockMessage: "Not here.", LogPrompts: &store.PromptCapture{
						Include: []store.Rule{{Email: &store.EmailRule{Email: "a@example.com"}}},
						Require: []store.Rule{{EmailDomain: &store.EmailDomainRule{Domain: "example.com"}}},
						Exclude: []store.Rule{{Everyone: &store.Empty{}}}}}},
			{ID: "app-jira", Type: store.AppSaaS, Name: "Jira", SaaSApp: &store.SaaSApp{
				AuthType: store.SaaSAuthSAML, SPEntityID: "https://jira.example.com", ConsumerServiceURL: "https://jira.example.com/acs",
				NameIDFormat: "email", DefaultRelayState: "https://jira.example.com/home", SendEmptyGroupsAttribute: new(false),
				CustomAttributes: []store.SAMLAttribute{{Name: "dept", FriendlyName: "Department", NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
					Required: true, Source: store.AttributeSource{Name: "department", NameByIdP: []store.IdPSourceName{{IdPID: "idp-saml", SourceName: "dept"}}}}},
			}},
			{ID: "app-chat", Type: store.AppSaaS, Name: "Chat", SaaSApp: &store.SaaSApp{
				AuthType: store.SaaSAuthOIDC, ClientID: "chat", ClientSecretSHA256: strings.Repeat("ab", 32),
				RedirectURIs: []string{"https://chat.example.com/cb"}, Scopes: []string{"openid", "email"}, GrantTypes: []string{"authorization_code_with_pkce", "refresh_tokens"},
				AllowPKCEWithoutClientSecret: true, AccessTokenLifetime: store.Duration(15 * time.Minute),
				RefreshTokenOptions: &store.RefreshTokenOptions{Lifetime: store.Duration(720 * time.Hour), ReuseGracePeriod: new(store.Duration(30 * time.Second))},
				CustomClaims:        []store.OIDCClaim{{Name: "team", Scope: "profile", Required: true, Source: store.AttributeSource{Name: "team"}}},
				GroupFilterRegex:    "^eng-", AppLauncherURL: "https://chat.example.com/login",
			}},
		},
		Policies: []store.Policy{
			{ID: "pol-allow", Name: "Staff", Decision: store.DecisionAllow, Include: rules, Require: rules[:2], Exclude: rules[2:4],
				SessionDuration: store.Duration(8 * time.Hour)},
			{ID: "pol-deny", Decision: store.DecisionDeny, Include: []store.Rule{{Everyone: &store.Empty{}}}},
		},
		Groups: []store.RuleGroup{
			{ID: "group-eng", Name: "Engineering", Include: rules[5:], Require: rules[:1], Exclude: rules[1:2]},
		},
		Lists: []store.List{
			{ID: "list-emails", Name: "Contractors", Type: store.ListEmail, Items: []store.ListItem{
				{Value: "bob@example.com", Description: "Bob"}, {Value: "carol@example.com"}}},
			{ID: "list-ips", Type: store.ListIP, Items: []store.ListItem{{Value: "192.0.2.0/24"}}},
		},
		ServiceTokens: []store.ServiceToken{
			{ID: "st-ci", Name: "CI", ClientID: "ci.access", ClientSecretSHA256: fixedAUD,
				Duration:  store.Duration(8760 * time.Hour),
				ExpiresAt: time.Date(2032, 1, 2, 3, 4, 5, 987654321, tz),
				Disabled:  true,
				CreatedAt: time.Date(2031, 1, 2, 3, 4, 5, 555555555, tz)},
		},
		MCPServers: []store.MCPServer{
			{ID: "docs", Name: "Docs", URL: "https://mcp.example.com/docs", Transport: store.MCPTransportStreamable,
				AuthType: store.MCPAuthBearer, AuthCredentials: map[string]any{"env": "DOCS_MCP_TOKEN"},
				ReviewStatus: store.MCPReviewApproved, HoldChangedTools: true},
			{ID: "jira", Name: "Jira", URL: "https://mcp.example.com/jira/sse", AuthCredentials: "literal-token"},
			{ID: "wiki", Name: "Wiki", URL: "https://wiki.example.com/mcp", AuthType: store.MCPAuthOAuth,
				OAuth: &store.MCPServerOAuth{ClientID: "gatehouse", ClientSecret: map[string]any{"env": "WIKI_CLIENT_SECRET"}, Scopes: []string{"wiki.read", "wiki.write"}}},
		},
		MCPPortals: []store.MCPPortal{
			{ID: "portal-eng", Name: "Engineering tools",
				Servers: []store.MCPPortalServer{
					{ServerID: "docs", OnBehalf: true, DefaultDisabled: true,
						UpdatedTools:   []store.MCPToolSetting{{Name: "search", Enabled: true, Alias: "find", Description: "Finds documents.", Policies: []store.PolicyLink{{Ref: "pol-allow", Precedence: 1}}}},
						UpdatedPrompts: []store.MCPToolSetting{{Name: "triage", Enabled: true}},
						Policies:       []store.PolicyLink{{Ref: "pol-deny", Precedence: 2}}},
					{ServerID: "jira"},
				},
				Policies: []store.PolicyLink{{Ref: "pol-allow", Precedence: 1}}, AllowedIdPs: []string{"idp-oidc"},
				SessionDuration: store.Duration(2 * time.Hour),
				DLP:             &store.MCPPortalDLP{Profiles: []string{"Credentials"}, Action: "log"},
				PromptInjection: store.MCPActionLog,
				OAuth: &store.MCPPortalOAuth{
					DynamicClientRegistration: &store.MCPDynamicClientRegistration{AllowAnyOnLocalhost: new(false), AllowAnyOnLoopback: new(true),
						AllowedURIs: []string{"https://claude.ai/api/mcp/auth_callback", "cursor://anysphere.cursor-retrieval/oauth/callback"}},
					Grant:                     &store.MCPGrant{AccessTokenLifetime: store.Duration(10 * time.Minute), SessionDuration: store.Duration(336 * time.Hour)},
					ClientIDMetadataDocuments: &store.MCPClientIDMetadataDocuments{Disabled: true, AllowedNetworks: []string{"10.20.0.0/16"}}}},
		},
	}
	// Both provenances, alternating, so that each kind stores each.
	for i, o := range cfg.Objects() {
		*o.ManagedBy = []string{store.ManagedByAPI, store.ManagedByFile}[i%2]
	}
	return cfg
}

func testConfigRoundTrip(t *testing.T, s store.Store, _ *Clock) {
	ctx := t.Context()
	requireAllFieldsSet(t, fullConfig(), "Config.Version")
	got, err := s.UpdateConfig(ctx, func(c *store.Config) error {
		*c = *fullConfig()
		return nil
	})
	ok(t, "UpdateConfig", err)

	want := fullConfig()
	want.Version = 1
	for i := range want.ServiceTokens {
		st := &want.ServiceTokens[i]
		st.ExpiresAt, st.CreatedAt = ts(st.ExpiresAt), ts(st.CreatedAt)
	}
	if len(got.Applications) != len(want.Applications) {
		t.Fatalf("got %d applications, want %d", len(got.Applications), len(want.Applications))
	}
	for i := 1; i < len(want.Applications); i++ { // the first has a fixed AUD, the others get one
		if aud := got.Applications[i].AUD; !hex64.MatchString(aud) {
			t.Errorf("generated AUD %q is not 64 lower-case hex digits", aud)
		}
		want.Applications[i].AUD = got.Applications[i].AUD
	}
	equal(t, "UpdateConfig result", got, want)

	read, err := s.GetConfig(ctx)
	ok(t, "GetConfig", err)
	equal(t, "GetConfig", read, want)

	// An update that changes nothing keeps everything but the version.
	again, err := s.UpdateConfig(ctx, func(*store.Config) error { return nil })
	ok(t, "UpdateConfig", err)
	want.Version = 2
	equal(t, "no-op UpdateConfig result", again, want)
}

func testConfigAUD(t *testing.T, s store.Store, _ *Clock) {
	ctx := t.Context()
	got, err := s.UpdateConfig(ctx, func(c *store.Config) error {
		c.Applications = []store.Application{{ID: "a", Name: "A"}, {ID: "b", Name: "B"}, {ID: "c", Name: "C", AUD: fixedAUD}}
		return nil
	})
	ok(t, "UpdateConfig", err)
	a, b := got.Applications[0].AUD, got.Applications[1].AUD
	for _, aud := range []string{a, b} {
		if !hex64.MatchString(aud) {
			t.Errorf("generated AUD %q is not 64 lower-case hex digits", aud)
		}
	}
	if a == b {
		t.Errorf("two applications got the same AUD %q", a)
	}
	if c := got.Applications[2].AUD; c != fixedAUD {
		t.Errorf("application with an AUD got %q, want it kept as %q", c, fixedAUD)
	}

	// Same IDs: AUDs stay, whatever the updater does to them.
	got, err = s.UpdateConfig(ctx, func(c *store.Config) error {
		c.Applications[0].AUD = ""
		c.Applications[0].Name = "A renamed"
		c.Applications[1].AUD = otherAUD
		c.Applications[0], c.Applications[2] = c.Applications[2], c.Applications[0] // reorder
		return nil
	})
	ok(t, "UpdateConfig", err)
	auds := map[string]string{}
	for _, app := range got.Applications {
		auds[app.ID] = app.AUD
	}
	equal(t, "AUDs after update", auds, map[string]string{"a": a, "b": b, "c": fixedAUD})
	read, err := s.GetConfig(ctx)
	ok(t, "GetConfig", err)
	equal(t, "GetConfig", read, got)

	// Deleting an application forgets its AUD: the same ID added later gets a fresh one.
	_, err = s.UpdateConfig(ctx, func(c *store.Config) error {
		c.Applications = c.Applications[:1]
		return nil
	})
	ok(t, "UpdateConfig (delete)", err)
	got, err = s.UpdateConfig(ctx, func(c *store.Config) error {
		c.Applications = append(c.Applications, store.Application{ID: "a", Name: "A again"})
		return nil
	})
	ok(t, "UpdateConfig (re-add)", err)
	if aud := got.Applications[1].AUD; !hex64.MatchString(aud) || aud == a {
		t.Errorf("re-added application got AUD %q, want a fresh one (old %q)", aud, a)
	}
}

func testConfigUpdaterError(t *testing.T, s store.Store, _ *Clock) {
	ctx := t.Context()
	before, err := s.UpdateConfig(ctx, func(c *store.Config) error {
		c.Organization.Name = "before"
		c.Applications = []store.Application{{ID: "a", Name: "A"}}
		return nil
	})
	ok(t, "UpdateConfig", err)

	errBoom := errors.New("boom")
	got, err := s.UpdateConfig(ctx, func(c *store.Config) error {
		c.Organization.Name = "after"
		c.Applications = nil
		return errBoom
	})
	if err != errBoom { //nolint:errorlint // the contract says the updater's error is returned unwrapped
		t.Fatalf("UpdateConfig returned (%v, %v), want the updater's error itself", got, err)
	}
	read, err := s.GetConfig(ctx)
	ok(t, "GetConfig", err)
	equal(t, "config after failed update", read, before)
}
