package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole access configuration as the store keeps it: the organization and every
// application, policy, rule group, list, identity provider and service token. The YAML file of
// schema v1 decodes into these types (see package config), and so does the admin API's JSON; field
// names follow Cloudflare's API so that exports map one to one.
type Config struct {
	// Version increases by one with every committed change; snapshots are compiled per version.
	Version int64 `json:"-" yaml:"-"`

	Organization      Organization       `json:"organization" yaml:"organization"`
	IdentityProviders []IdentityProvider `json:"identity_providers" yaml:"identity_providers"`
	Applications      []Application      `json:"applications" yaml:"applications"`
	Policies          []Policy           `json:"policies" yaml:"policies"`
	Groups            []RuleGroup        `json:"groups" yaml:"groups"`
	Lists             []List             `json:"lists" yaml:"lists"`
	ServiceTokens     []ServiceToken     `json:"service_tokens" yaml:"service_tokens"`
	// MCPServers and MCPPortals are the MCP server portal's registry and portals (package mcp).
	MCPServers []MCPServer `json:"mcp_servers,omitempty" yaml:"mcp_servers,omitempty"`
	MCPPortals []MCPPortal `json:"mcp_portals,omitempty" yaml:"mcp_portals,omitempty"`
}

// Provenance of configuration objects (the ManagedBy field of every object of Config except the
// organization, which only the file sets).
const (
	// ManagedByFile marks an object the configuration file declares: applying the file adds,
	// updates and removes such objects, and the admin API refuses to change them.
	ManagedByFile = "file"
	// ManagedByAPI marks an object created through the admin API (or the console): applying the
	// file keeps it, and an object of the file with its id is an error.
	ManagedByAPI = "api"
)

// ObjectRef names one object of a Config: its section (the configuration file's key, such as
// "applications"), its id, and its ManagedBy field.
type ObjectRef struct {
	Section   string
	ID        string
	ManagedBy *string
}

// Objects returns every object of c except the organization, section by section in the order of
// the configuration file, each section in order.
func (c *Config) Objects() []ObjectRef {
	var out []ObjectRef
	add := func(section, id string, m *string) { out = append(out, ObjectRef{section, id, m}) }
	for i := range c.IdentityProviders {
		add("identity_providers", c.IdentityProviders[i].ID, &c.IdentityProviders[i].ManagedBy)
	}
	for i := range c.Applications {
		add("applications", c.Applications[i].ID, &c.Applications[i].ManagedBy)
	}
	for i := range c.Policies {
		add("policies", c.Policies[i].ID, &c.Policies[i].ManagedBy)
	}
	for i := range c.Groups {
		add("groups", c.Groups[i].ID, &c.Groups[i].ManagedBy)
	}
	for i := range c.Lists {
		add("lists", c.Lists[i].ID, &c.Lists[i].ManagedBy)
	}
	for i := range c.ServiceTokens {
		add("service_tokens", c.ServiceTokens[i].ID, &c.ServiceTokens[i].ManagedBy)
	}
	for i := range c.MCPServers {
		add("mcp_servers", c.MCPServers[i].ID, &c.MCPServers[i].ManagedBy)
	}
	for i := range c.MCPPortals {
		add("mcp_portals", c.MCPPortals[i].ID, &c.MCPPortals[i].ManagedBy)
	}
	return out
}

// NormalizeManagedBy sets an empty ManagedBy to ManagedByFile (objects stored before provenance
// existed all came from the file) and reports an unknown value. Backends call it on every
// configuration they store and read.
func (c *Config) NormalizeManagedBy() error {
	for _, o := range c.Objects() {
		switch *o.ManagedBy {
		case "":
			*o.ManagedBy = ManagedByFile
		case ManagedByFile, ManagedByAPI:
		default:
			return fmt.Errorf("store: %s %q: managed_by %q is neither %q nor %q", o.Section, o.ID, *o.ManagedBy, ManagedByFile, ManagedByAPI)
		}
	}
	return nil
}

// Wire profile names (see package wire).
const (
	WireGatehouse  = "gatehouse"
	WireCloudflare = "cloudflare"
)

// Organization holds the settings that apply to every application.
type Organization struct {
	// Name is shown on the login page and in the App Launcher.
	Name string `json:"name" yaml:"name"`
	// AuthDomain is the host name that serves login, callbacks, certs and the launcher, e.g.
	// "auth.example.com". The JWT issuer is "https://" + AuthDomain (or http:// on a plain
	// listener such as the demo).
	AuthDomain string `json:"auth_domain" yaml:"auth_domain"`
	// SessionDuration is the lifetime of the global (org) session; default 24h.
	SessionDuration Duration `json:"session_duration,omitempty" yaml:"session_duration,omitempty"`
	// Wire selects the header, cookie and path names: "gatehouse" (default) or "cloudflare".
	Wire string `json:"wire,omitempty" yaml:"wire,omitempty"`
	// DenyUnmatchedRequests answers 403 for a request whose host and path match no application;
	// otherwise such a request gets 404 (Gatehouse never forwards a request without an application).
	DenyUnmatchedRequests bool `json:"deny_unmatched_requests,omitempty" yaml:"deny_unmatched_requests,omitempty"`
	// KeyRotationInterval is how often the signing key rotates; default 1008h (6 weeks).
	KeyRotationInterval Duration `json:"key_rotation_interval,omitempty" yaml:"key_rotation_interval,omitempty"`
	// KeyOverlap is how long a rotated-out key keeps verifying and is published; default 168h
	// (7 days). It must be at least the longest session duration.
	KeyOverlap Duration `json:"key_overlap,omitempty" yaml:"key_overlap,omitempty"`
	// CustomDenyMessage is the org-wide default block-page text.
	CustomDenyMessage string `json:"custom_deny_message,omitempty" yaml:"custom_deny_message,omitempty"`
	// LoginDesign brands the end-user pages (login, PIN, block, error, signed-out and App
	// Launcher pages); Cloudflare Access's field names.
	LoginDesign *LoginDesign `json:"login_design,omitempty" yaml:"login_design,omitempty"`
}

// LoginDesign is the organization's look on the end-user pages.
type LoginDesign struct {
	// BackgroundColor is the page background behind the card, "#rrggbb" or "#rgb".
	BackgroundColor string `json:"background_color,omitempty" yaml:"background_color,omitempty"`
	// TextColor is the colour of the header and footer text drawn on BackgroundColor.
	TextColor string `json:"text_color,omitempty" yaml:"text_color,omitempty"`
	// LogoPath is the organization's logo: an https:// URL or a data:image/... URL.
	LogoPath string `json:"logo_path,omitempty" yaml:"logo_path,omitempty"`
	// HeaderText is a line shown under the organization's name above the card.
	HeaderText string `json:"header_text,omitempty" yaml:"header_text,omitempty"`
	// FooterText is a line shown in the footer of every page.
	FooterText string `json:"footer_text,omitempty" yaml:"footer_text,omitempty"`
}

// Identity provider types.
const (
	IdPOneTimePIN = "onetimepin"
	IdPOIDC       = "oidc"
	IdPSAML       = "saml"
	IdPGitHub     = "github"
	IdPGoogle     = "google"
)

// IdentityProvider is a login method. Config is type-specific and is decoded by the connector
// registry in package identity.
type IdentityProvider struct {
	ID string `json:"id" yaml:"id"`
	// ManagedBy is where the object comes from (a Gatehouse extension; Cloudflare has no
	// equivalent): "file" for an object the configuration file declares, which only the file
	// changes, or "api" for one created through the admin API (or console), which the file
	// never touches. Read-only in the API; the file cannot set it. See ManagedByFile.
	ManagedBy string         `json:"managed_by,omitempty" yaml:"-"`
	Name      string         `json:"name" yaml:"name"`
	Type      string         `json:"type" yaml:"type"`
	Config    map[string]any `json:"config,omitempty" yaml:"config,omitempty"`
	// SCIMConfig enables and configures inbound SCIM provisioning (package scim).
	SCIMConfig *SCIMConfig `json:"scim_config,omitempty" yaml:"scim_config,omitempty"`
}

// Application types.
const (
	AppSelfHosted  = "self_hosted"
	AppSaaS        = "saas"
	AppBookmark    = "bookmark"
	AppAppLauncher = "app_launcher"
	// AppMCPPortal is the application of an MCP portal (mcp_portals); it is never configured
	// in applications.
	AppMCPPortal = "mcp_portal"
	// AppWarp is Cloudflare's "device enrollment permissions" application: its policies decide
	// who may enrol a device for the secure web gateway (at most one; none: nobody may).
	AppWarp = "warp"
)

// UpstreamBuiltinDemo is the upstream of an application served by Gatehouse's built-in demo
// origin (package demo) in-process: a page that shows the request headers and the verified JWT
// claims it received. It has no port and is reachable only through Gatehouse; `gatehouse demo`
// uses it, and so can any configuration, e.g. to try Gatehouse before pointing it at a real
// application.
const UpstreamBuiltinDemo = "builtin:demo"

// Application is a protected resource.
type Application struct {
	ID string `json:"id" yaml:"id"`
	// ManagedBy is where the object comes from (a Gatehouse extension; Cloudflare has no
	// equivalent): "file" for an object the configuration file declares, which only the file
	// changes, or "api" for one created through the admin API (or console), which the file
	// never touches. Read-only in the API; the file cannot set it. See ManagedByFile.
	ManagedBy string `json:"managed_by,omitempty" yaml:"-"`
	Type      string `json:"type" yaml:"type"`
	Name      string `json:"name" yaml:"name"`
	// AUD is the 64-hex application audience tag; generated when the app is first stored and
	// stable until the app is deleted.
	AUD string `json:"aud,omitempty" yaml:"aud,omitempty"`
	// Destinations are host[/path] patterns with Cloudflare's wildcard rules.
	Destinations []Destination `json:"destinations,omitempty" yaml:"destinations,omitempty"`
	// Upstream is the origin URL requests are forwarded to (http or https), or
	// UpstreamBuiltinDemo for Gatehouse's built-in demo origin.
	Upstream string `json:"upstream,omitempty" yaml:"upstream,omitempty"`
	// SessionDuration is the app token lifetime; default 24h.
	SessionDuration Duration `json:"session_duration,omitempty" yaml:"session_duration,omitempty"`
	// AllowedIdPs lists the identity provider IDs offered on the login page; empty means all.
	AllowedIdPs []string `json:"allowed_idps,omitempty" yaml:"allowed_idps,omitempty"`
	// AutoRedirectToIdentity skips the picker when exactly one IdP is allowed (instant auth).
	AutoRedirectToIdentity bool `json:"auto_redirect_to_identity,omitempty" yaml:"auto_redirect_to_identity,omitempty"`
	// Policies link reusable policies with a precedence (ascending, unique per app).
	Policies []PolicyLink `json:"policies,omitempty" yaml:"policies,omitempty"`

	CustomDenyMessage        string `json:"custom_deny_message,omitempty" yaml:"custom_deny_message,omitempty"`
	CustomDenyURL            string `json:"custom_deny_url,omitempty" yaml:"custom_deny_url,omitempty"`
	CustomNonIdentityDenyURL string `json:"custom_non_identity_deny_url,omitempty" yaml:"custom_non_identity_deny_url,omitempty"`

	// SameSiteCookieAttribute is "none", "lax" (default) or "strict" for the app cookie.
	SameSiteCookieAttribute string `json:"same_site_cookie_attribute,omitempty" yaml:"same_site_cookie_attribute,omitempty"`
	// HTTPOnlyCookieAttribute sets HttpOnly on the app cookie; default true.
	HTTPOnlyCookieAttribute *bool `json:"http_only_cookie_attribute,omitempty" yaml:"http_only_cookie_attribute,omitempty"`

	// CORSHeaders makes Gatehouse answer CORS preflight requests itself.
	CORSHeaders *CORSHeaders `json:"cors_headers,omitempty" yaml:"cors_headers,omitempty"`
	// OptionsPreflightBypass sends OPTIONS preflights straight to the origin; exclusive with CORSHeaders.
	OptionsPreflightBypass bool `json:"options_preflight_bypass,omitempty" yaml:"options_preflight_bypass,omitempty"`
	// ServiceAuth401Redirect answers 401 instead of redirecting to login when only service auth could pass.
	ServiceAuth401Redirect bool `json:"service_auth_401_redirect,omitempty" yaml:"service_auth_401_redirect,omitempty"`

	AppLauncherVisible bool   `json:"app_launcher_visible,omitempty" yaml:"app_launcher_visible,omitempty"`
	LogoURL            string `json:"logo_url,omitempty" yaml:"logo_url,omitempty"`
	// Domain is the URL a bookmark app's tile opens, or the host[/path] of a self-hosted app's
	// tile (default: its first destination).
	Domain string `json:"domain,omitempty" yaml:"domain,omitempty"`

	// SaaSApp configures a SaaS application (type saas): Gatehouse is its SAML IdP or OIDC
	// provider.
	SaaSApp *SaaSApp `json:"saas_app,omitempty" yaml:"saas_app,omitempty"`

	// PromptProtection (a Gatehouse extension; Cloudflare has no equivalent) turns on AI prompt
	// protection for a self_hosted application whose upstream is an OpenAI-compatible server.
	PromptProtection *PromptProtection `json:"prompt_protection,omitempty" yaml:"prompt_protection,omitempty"`
}

// Prompt protection fail modes: what happens to a request to a prompt endpoint whose prompt
// cannot be read (a body past the bound, an encoding or a shape the adapter does not read).
const (
	PromptFailClosed = "closed"
	PromptFailOpen   = "open"
)

// PromptProtection is AI prompt protection on the reverse path of a self-hosted application:
// after Access allowed a request to a prompt endpoint (OpenAI Chat Completions or Responses,
// Ollama /api/chat, ...), its prompt is classified into topics; prompts with a blocked topic are
// refused, and the prompts of the users LogPrompts selects are kept, with the response, in the
// encrypted prompt logs.
type PromptProtection struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// BlockTopics are the topic ids (intent_jailbreak, content_credentials_secrets, ...) whose
	// prompts are refused with 403.
	BlockTopics []string `json:"block_topics,omitempty" yaml:"block_topics,omitempty"`
	// FailMode is "closed" (default: refuse a request whose prompt cannot be read) or "open"
	// (forward it uninspected).
	FailMode string `json:"fail_mode,omitempty" yaml:"fail_mode,omitempty"`
	// BlockMessage replaces the default message of the JSON error a blocked prompt gets.
	BlockMessage string `json:"block_message,omitempty" yaml:"block_message,omitempty"`
	// LogPrompts selects, with Access policy rules, whose prompts are captured in the prompt
	// logs (nil: nobody's); {include: [{everyone: {}}]} captures everyone's.
	LogPrompts *PromptCapture `json:"log_prompts,omitempty" yaml:"log_prompts,omitempty"`
}

// PromptCapture selects requests with Access policy rules (the selectors of Policy: email,
// email_domain, group, okta, azureAD, gsuite, ...): a request is selected when any include
// rule, every require rule and no exclude rule matches.
type PromptCapture struct {
	Include []Rule `json:"include" yaml:"include"`
	Require []Rule `json:"require,omitempty" yaml:"require,omitempty"`
	Exclude []Rule `json:"exclude,omitempty" yaml:"exclude,omitempty"`
}

// PromptFailsClosed reports whether a request whose prompt cannot be read is refused.
func (p *PromptProtection) PromptFailsClosed() bool { return p.FailMode != PromptFailOpen }

// SaaS authentication types.
const (
	SaaSAuthSAML = "saml"
	SaaSAuthOIDC = "oidc"
)

// SaaSApp is Cloudflare's saas_app object: the service-provider side of a SaaS application.
type SaaSApp struct {
	// AuthType is "saml" or "oidc".
	AuthType string `json:"auth_type" yaml:"auth_type"`

	// SAML: the SP's entity ID and assertion consumer service URL (both required and checked
	// against every AuthnRequest), the NameID format ("email" or "id": the stable user UUID),
	// attributes, and the RelayState of IdP-initiated logins.
	SPEntityID         string          `json:"sp_entity_id,omitempty" yaml:"sp_entity_id,omitempty"`
	ConsumerServiceURL string          `json:"consumer_service_url,omitempty" yaml:"consumer_service_url,omitempty"`
	NameIDFormat       string          `json:"name_id_format,omitempty" yaml:"name_id_format,omitempty"`
	CustomAttributes   []SAMLAttribute `json:"custom_attributes,omitempty" yaml:"custom_attributes,omitempty"`
	DefaultRelayState  string          `json:"default_relay_state,omitempty" yaml:"default_relay_state,omitempty"`
	// SendEmptyGroupsAttribute (a Gatehouse extension; default true) sends the groups
	// attribute, and every custom attribute whose source is groups, with no AttributeValue
	// when the user has no groups, instead of leaving it out: service providers that require
	// the attribute (Dex's SAML connector with groupsAttr) then accept users without groups.
	// false leaves such attributes out, as Cloudflare does.
	SendEmptyGroupsAttribute *bool `json:"send_empty_groups_attribute,omitempty" yaml:"send_empty_groups_attribute,omitempty"`

	// OIDC: the client, its redirect URIs (matched exactly), scopes (openid, email, profile,
	// groups), grant types, token lifetimes and custom claims. Only the SHA-256 of the client
	// secret is stored.
	ClientID                     string               `json:"client_id,omitempty" yaml:"client_id,omitempty"`
	ClientSecretSHA256           string               `json:"client_secret_sha256,omitempty" yaml:"client_secret_sha256,omitempty"`
	RedirectURIs                 []string             `json:"redirect_uris,omitempty" yaml:"redirect_uris,omitempty"`
	Scopes                       []string             `json:"scopes,omitempty" yaml:"scopes,omitempty"`
	GrantTypes                   []string             `json:"grant_types,omitempty" yaml:"grant_types,omitempty"`
	AllowPKCEWithoutClientSecret bool                 `json:"allow_pkce_without_client_secret,omitempty" yaml:"allow_pkce_without_client_secret,omitempty"`
	AccessTokenLifetime          Duration             `json:"access_token_lifetime,omitempty" yaml:"access_token_lifetime,omitempty"`
	RefreshTokenOptions          *RefreshTokenOptions `json:"refresh_token_options,omitempty" yaml:"refresh_token_options,omitempty"`
	CustomClaims                 []OIDCClaim          `json:"custom_claims,omitempty" yaml:"custom_claims,omitempty"`
	GroupFilterRegex             string               `json:"group_filter_regex,omitempty" yaml:"group_filter_regex,omitempty"`
	AppLauncherURL               string               `json:"app_launcher_url,omitempty" yaml:"app_launcher_url,omitempty"`
}

// SAMLAttribute is one attribute a SAML SaaS app receives.
type SAMLAttribute struct {
	Name         string          `json:"name" yaml:"name"`
	FriendlyName string          `json:"friendly_name,omitempty" yaml:"friendly_name,omitempty"`
	NameFormat   string          `json:"name_format,omitempty" yaml:"name_format,omitempty"`
	Required     bool            `json:"required,omitempty" yaml:"required,omitempty"`
	Source       AttributeSource `json:"source" yaml:"source"`
}

// AttributeSource names the identity attribute (SAML attribute or OIDC claim of the user's IdP,
// or one of id, email, name, groups) a SaaS attribute or claim takes its value from, optionally
// differently per IdP.
type AttributeSource struct {
	Name      string          `json:"name" yaml:"name"`
	NameByIdP []IdPSourceName `json:"name_by_idp,omitempty" yaml:"name_by_idp,omitempty"`
}

// IdPSourceName is the source attribute name for logins through one IdP.
type IdPSourceName struct {
	IdPID      string `json:"idp_id" yaml:"idp_id"`
	SourceName string `json:"source_name" yaml:"source_name"`
}

// OIDCClaim is one custom claim an OIDC SaaS app receives, released with Scope.
type OIDCClaim struct {
	Name     string          `json:"name" yaml:"name"`
	Scope    string          `json:"scope,omitempty" yaml:"scope,omitempty"`
	Required bool            `json:"required,omitempty" yaml:"required,omitempty"`
	Source   AttributeSource `json:"source" yaml:"source"`
}

// RefreshTokenOptions configures refresh tokens of an OIDC SaaS app.
type RefreshTokenOptions struct {
	// Lifetime is how long a refresh token can be used after its issue (default 30 days).
	Lifetime Duration `json:"lifetime,omitempty" yaml:"lifetime,omitempty"`
	// ReuseGracePeriod (a Gatehouse extension) is how long after a refresh token was rotated
	// presenting it again, by the same client, is taken for a concurrent or retried refresh:
	// the answer carries fresh access and ID tokens and the same successor refresh token the
	// first refresh got, and the token family stays valid. Presented later, or by another
	// client, it is a reuse that revokes the whole family. Unset means 10s; 0 turns the grace
	// off; at most 1m.
	ReuseGracePeriod *Duration `json:"reuse_grace_period,omitempty" yaml:"reuse_grace_period,omitempty"`
}

// EmptyGroupsAttribute reports the effective SendEmptyGroupsAttribute (default true).
func (s *SaaSApp) EmptyGroupsAttribute() bool {
	return s.SendEmptyGroupsAttribute == nil || *s.SendEmptyGroupsAttribute
}

// HTTPOnly reports the effective HttpOnly attribute of the app cookie.
func (a *Application) HTTPOnly() bool {
	return a.HTTPOnlyCookieAttribute == nil || *a.HTTPOnlyCookieAttribute
}

// Destination is one host[/path] pattern an application covers. In YAML and JSON it is either a
// plain string or Cloudflare's object form {type: public, uri: ...}.
type Destination struct {
	Type string `json:"type" yaml:"type"`
	URI  string `json:"uri" yaml:"uri"`
}

// UnmarshalYAML accepts "host/path" or {type, uri}.
func (d *Destination) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		d.Type, d.URI = "public", n.Value
		return nil
	}
	type plain Destination
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*d = Destination(p)
	if d.Type == "" {
		d.Type = "public"
	}
	return nil
}

// UnmarshalJSON accepts "host/path" or {type, uri}.
func (d *Destination) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		d.Type, d.URI = "public", s
		return nil
	}
	type plain Destination
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*d = Destination(p)
	if d.Type == "" {
		d.Type = "public"
	}
	return nil
}

// CORSHeaders mirrors Cloudflare's cors_headers object.
type CORSHeaders struct {
	AllowAllHeaders  bool     `json:"allow_all_headers,omitempty" yaml:"allow_all_headers,omitempty"`
	AllowAllMethods  bool     `json:"allow_all_methods,omitempty" yaml:"allow_all_methods,omitempty"`
	AllowAllOrigins  bool     `json:"allow_all_origins,omitempty" yaml:"allow_all_origins,omitempty"`
	AllowCredentials bool     `json:"allow_credentials,omitempty" yaml:"allow_credentials,omitempty"`
	AllowedHeaders   []string `json:"allowed_headers,omitempty" yaml:"allowed_headers,omitempty"`
	AllowedMethods   []string `json:"allowed_methods,omitempty" yaml:"allowed_methods,omitempty"`
	AllowedOrigins   []string `json:"allowed_origins,omitempty" yaml:"allowed_origins,omitempty"`
	MaxAge           int      `json:"max_age,omitempty" yaml:"max_age,omitempty"`
}

// PolicyLink attaches a reusable policy to an application. YAML names the policy with `ref`,
// the API JSON with `id`.
type PolicyLink struct {
	Ref        string `json:"id" yaml:"ref"`
	Precedence int    `json:"precedence" yaml:"precedence"`
}

// Policy decisions.
const (
	DecisionAllow       = "allow"
	DecisionDeny        = "deny"
	DecisionBypass      = "bypass"
	DecisionNonIdentity = "non_identity"
)

// Policy is a reusable access policy: decision + include (OR) / require (AND) / exclude (NOT).
type Policy struct {
	ID string `json:"id" yaml:"id"`
	// ManagedBy is where the object comes from (a Gatehouse extension; Cloudflare has no
	// equivalent): "file" for an object the configuration file declares, which only the file
	// changes, or "api" for one created through the admin API (or console), which the file
	// never touches. Read-only in the API; the file cannot set it. See ManagedByFile.
	ManagedBy string `json:"managed_by,omitempty" yaml:"-"`
	Name      string `json:"name,omitempty" yaml:"name,omitempty"`
	Decision  string `json:"decision" yaml:"decision"`
	Include   []Rule `json:"include" yaml:"include"`
	Require   []Rule `json:"require,omitempty" yaml:"require,omitempty"`
	Exclude   []Rule `json:"exclude,omitempty" yaml:"exclude,omitempty"`
	// SessionDuration overrides the app session duration for users this policy admits.
	SessionDuration Duration `json:"session_duration,omitempty" yaml:"session_duration,omitempty"`
}

// RuleGroup is a named, reusable include/require/exclude block (Cloudflare's "Access group"),
// referenced from policies by the `group` selector.
type RuleGroup struct {
	ID string `json:"id" yaml:"id"`
	// ManagedBy is where the object comes from (a Gatehouse extension; Cloudflare has no
	// equivalent): "file" for an object the configuration file declares, which only the file
	// changes, or "api" for one created through the admin API (or console), which the file
	// never touches. Read-only in the API; the file cannot set it. See ManagedByFile.
	ManagedBy string `json:"managed_by,omitempty" yaml:"-"`
	Name      string `json:"name,omitempty" yaml:"name,omitempty"`
	Include   []Rule `json:"include" yaml:"include"`
	Require   []Rule `json:"require,omitempty" yaml:"require,omitempty"`
	Exclude   []Rule `json:"exclude,omitempty" yaml:"exclude,omitempty"`
}

// List types.
const (
	ListEmail = "EMAIL"
	ListIP    = "IP"
)

// List is a named list of e-mail addresses or IP ranges for email_list / ip_list.
type List struct {
	ID string `json:"id" yaml:"id"`
	// ManagedBy is where the object comes from (a Gatehouse extension; Cloudflare has no
	// equivalent): "file" for an object the configuration file declares, which only the file
	// changes, or "api" for one created through the admin API (or console), which the file
	// never touches. Read-only in the API; the file cannot set it. See ManagedByFile.
	ManagedBy string     `json:"managed_by,omitempty" yaml:"-"`
	Name      string     `json:"name,omitempty" yaml:"name,omitempty"`
	Type      string     `json:"type" yaml:"type"`
	Items     []ListItem `json:"items" yaml:"items"`
}

// ListItem is one value of a List.
type ListItem struct {
	Value       string `json:"value" yaml:"value"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// ServiceToken is a machine credential. Only the SHA-256 of the secret is stored.
type ServiceToken struct {
	ID string `json:"id" yaml:"id"`
	// ManagedBy is where the object comes from (a Gatehouse extension; Cloudflare has no
	// equivalent): "file" for an object the configuration file declares, which only the file
	// changes, or "api" for one created through the admin API (or console), which the file
	// never touches. Read-only in the API; the file cannot set it. See ManagedByFile.
	ManagedBy string `json:"managed_by,omitempty" yaml:"-"`
	Name      string `json:"name,omitempty" yaml:"name,omitempty"`
	ClientID  string `json:"client_id" yaml:"client_id"`
	// ClientSecretSHA256 is the lower-case hex SHA-256 of the client secret.
	ClientSecretSHA256 string `json:"client_secret_sha256" yaml:"client_secret_sha256"`
	// Duration is the token lifetime from CreatedAt; default 8760h.
	Duration  Duration  `json:"duration,omitempty" yaml:"duration,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero" yaml:"expires_at,omitempty"`
	// Disabled tokens never authenticate.
	Disabled  bool      `json:"disabled,omitempty" yaml:"disabled,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero" yaml:"-"`
}

// Rule is one selector: exactly one field is set. The JSON and YAML shape is Cloudflare's
// single-key object, e.g. {"email_domain": {"domain": "example.com"}}.
type Rule struct {
	Email                *EmailRule        `json:"email,omitempty" yaml:"email,omitempty"`
	EmailDomain          *EmailDomainRule  `json:"email_domain,omitempty" yaml:"email_domain,omitempty"`
	EmailList            *ListRef          `json:"email_list,omitempty" yaml:"email_list,omitempty"`
	Everyone             *Empty            `json:"everyone,omitempty" yaml:"everyone,omitempty"`
	IP                   *IPRule           `json:"ip,omitempty" yaml:"ip,omitempty"`
	IPList               *ListRef          `json:"ip_list,omitempty" yaml:"ip_list,omitempty"`
	Geo                  *GeoRule          `json:"geo,omitempty" yaml:"geo,omitempty"`
	Group                *GroupRef         `json:"group,omitempty" yaml:"group,omitempty"`
	LoginMethod          *LoginMethodRule  `json:"login_method,omitempty" yaml:"login_method,omitempty"`
	AuthMethod           *AuthMethodRule   `json:"auth_method,omitempty" yaml:"auth_method,omitempty"`
	ServiceToken         *ServiceTokenRule `json:"service_token,omitempty" yaml:"service_token,omitempty"`
	AnyValidServiceToken *Empty            `json:"any_valid_service_token,omitempty" yaml:"any_valid_service_token,omitempty"`
	SAML                 *SAMLRule         `json:"saml,omitempty" yaml:"saml,omitempty"`
	OIDC                 *OIDCRule         `json:"oidc,omitempty" yaml:"oidc,omitempty"`
	// GitHubOrganization is spelled github-organization in the API and github_organization in
	// Terraform; both are accepted.
	GitHubOrganization *GitHubOrganizationRule `json:"github-organization,omitempty" yaml:"github-organization,omitempty"`
	GitHubOrgAlias     *GitHubOrganizationRule `json:"github_organization,omitempty" yaml:"github_organization,omitempty"`
	// Okta, AzureAD (alias azure_ad) and GSuite match IdP group membership: the groups of the
	// login (SAML groups attribute, OIDC groups claim) and, with identity_update_behavior
	// automatic, the groups the IdP provisioned over SCIM.
	Okta         *OktaGroupRule    `json:"okta,omitempty" yaml:"okta,omitempty"`
	AzureAD      *AzureADGroupRule `json:"azureAD,omitempty" yaml:"azureAD,omitempty"`
	AzureADAlias *AzureADGroupRule `json:"azure_ad,omitempty" yaml:"azure_ad,omitempty"`
	GSuite       *GSuiteGroupRule  `json:"gsuite,omitempty" yaml:"gsuite,omitempty"`
}

// OktaGroupRule matches a group by name.
type OktaGroupRule struct {
	Name               string `json:"name" yaml:"name"`
	IdentityProviderID string `json:"identity_provider_id,omitempty" yaml:"identity_provider_id,omitempty"`
}

// AzureADGroupRule matches a group by ID (Entra object ID; also a SCIM group's id or
// externalId, or a group name when the IdP sends names).
type AzureADGroupRule struct {
	ID                 string `json:"id" yaml:"id"`
	IdentityProviderID string `json:"identity_provider_id,omitempty" yaml:"identity_provider_id,omitempty"`
}

// GSuiteGroupRule matches a Google Workspace group by its e-mail address.
type GSuiteGroupRule struct {
	Email              string `json:"email" yaml:"email"`
	IdentityProviderID string `json:"identity_provider_id,omitempty" yaml:"identity_provider_id,omitempty"`
}

// Selector returns the name of the one selector set in r, or "" when none is, and the number of
// selectors set (a valid rule has exactly one).
func (r *Rule) Selector() (name string, count int) {
	set := func(ok bool, n string) {
		if ok {
			count++
			if name == "" {
				name = n
			}
		}
	}
	set(r.Email != nil, "email")
	set(r.EmailDomain != nil, "email_domain")
	set(r.EmailList != nil, "email_list")
	set(r.Everyone != nil, "everyone")
	set(r.IP != nil, "ip")
	set(r.IPList != nil, "ip_list")
	set(r.Geo != nil, "geo")
	set(r.Group != nil, "group")
	set(r.LoginMethod != nil, "login_method")
	set(r.AuthMethod != nil, "auth_method")
	set(r.ServiceToken != nil, "service_token")
	set(r.AnyValidServiceToken != nil, "any_valid_service_token")
	set(r.SAML != nil, "saml")
	set(r.OIDC != nil, "oidc")
	set(r.GitHubOrganization != nil, "github-organization")
	set(r.GitHubOrgAlias != nil, "github-organization")
	set(r.Okta != nil, "okta")
	set(r.AzureAD != nil, "azureAD")
	set(r.AzureADAlias != nil, "azureAD")
	set(r.GSuite != nil, "gsuite")
	return name, count
}

// Empty is the `{}` value of selectors without fields (everyone, any_valid_service_token).
type Empty struct{}

// EmailRule matches one address exactly (case-insensitively).
type EmailRule struct {
	Email string `json:"email" yaml:"email"`
}

// EmailDomainRule matches addresses in a domain ("example.com" or "@example.com").
type EmailDomainRule struct {
	Domain string `json:"domain" yaml:"domain"`
}

// ListRef names a List.
type ListRef struct {
	ID string `json:"id" yaml:"id"`
}

// IPRule matches the client IP against a CIDR (or a single address).
type IPRule struct {
	IP string `json:"ip" yaml:"ip"`
}

// GeoRule matches the client's country (ISO 3166-1 alpha-2).
type GeoRule struct {
	CountryCode string `json:"country_code" yaml:"country_code"`
}

// GroupRef names a RuleGroup.
type GroupRef struct {
	ID string `json:"id" yaml:"id"`
}

// LoginMethodRule matches the identity provider the user logged in with.
type LoginMethodRule struct {
	ID string `json:"id" yaml:"id"`
}

// AuthMethodRule matches an RFC 8176 AMR value ("mfa", "hwk", "otp", ...).
type AuthMethodRule struct {
	AuthMethod string `json:"auth_method" yaml:"auth_method"`
}

// ServiceTokenRule matches one service token by ID.
type ServiceTokenRule struct {
	TokenID string `json:"token_id" yaml:"token_id"`
}

// SAMLRule matches a SAML attribute value exactly (per value for multi-valued attributes).
type SAMLRule struct {
	AttributeName      string `json:"attribute_name" yaml:"attribute_name"`
	AttributeValue     string `json:"attribute_value" yaml:"attribute_value"`
	IdentityProviderID string `json:"identity_provider_id,omitempty" yaml:"identity_provider_id,omitempty"`
}

// OIDCRule matches an OIDC claim value exactly (per value for multi-valued claims).
type OIDCRule struct {
	ClaimName          string `json:"claim_name" yaml:"claim_name"`
	ClaimValue         string `json:"claim_value" yaml:"claim_value"`
	IdentityProviderID string `json:"identity_provider_id,omitempty" yaml:"identity_provider_id,omitempty"`
}

// GitHubOrganizationRule matches membership of a GitHub organization, and of one of its teams
// (by slug) when Team is set.
type GitHubOrganizationRule struct {
	Name               string `json:"name" yaml:"name"`
	Team               string `json:"team,omitempty" yaml:"team,omitempty"`
	IdentityProviderID string `json:"identity_provider_id,omitempty" yaml:"identity_provider_id,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("24h", "90m").
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Or returns d, or def when d is zero.
func (d Duration) Or(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// String formats d as a Go duration string.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use Go duration syntax such as 30m, 24h)", s)
	}
	if v < 0 {
		return errors.New("duration must not be negative")
	}
	*d = Duration(v)
	return nil
}
