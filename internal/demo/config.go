package demo

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// DefaultDomain is the e-mail domain the demo always admits.
const DefaultDomain = "example.com"

// Options describe the demo configuration.
type Options struct {
	// DataDir holds the SQLite database and the master key; give it absolute, so that a copy of
	// the written file finds them wherever it is put.
	DataDir string
	// Listen is the public listen address.
	Listen string
	// Upstream is the demo app's origin; default store.UpstreamBuiltinDemo.
	Upstream string
	// Allow admits these addresses and domains besides DefaultDomain (see ParseAllow).
	Allow Allow
	// Gateway is the secure web gateway's listen address ("" leaves the gateway off), and
	// TokenSecretFile the file holding the demo service token's secret, for trying the gateway
	// with curl.
	Gateway         string
	TokenSecretFile string
	// PromptLogPublicKey is the base64 public key AI prompt logs are sealed to ("" captures
	// nothing).
	PromptLogPublicKey string
	// MCPServerURL is the demo MCP server's URL (MCPHandler, on a loopback listener); when set,
	// it is registered and exposed through the portal MCPPortalID to the demo's service token
	// (TokenSecretFile).
	MCPServerURL string
}

// TokenClientID is the client ID of the demo's service token (Proxy-Authorization user name).
const TokenClientID = "demo-cli.access"

// gatewayConfig is the demo's gateway: a device-enrolment application for the demo's users,
// review statuses for three AI apps, and rules that show the block page, DLP, AI prompt
// protection and prompt capture.
const gatewayConfig = `gateway:
  app_reviews:
    ChatGPT: approved
    Claude: in_review
    DeepSeek: unapproved
  rules:
    - id: unapproved-ai
      name: Unapproved AI apps
      precedence: 10
      enabled: true
      action: block
      traffic: any(app.type.ids[*] in {25}) and any(app.statuses[*] == "unapproved")
      rule_settings: {block_page_enabled: true, block_reason: "This AI app is not approved here. Use ChatGPT, which is."}
    - id: no-jailbreaks
      name: No jailbreaks or malicious code requests to AI apps
      precedence: 15
      enabled: true
      action: block
      traffic: any(app.type.ids[*] in {25}) and any(dlp.profiles[*] in {"ai_prompt_ai_security"})
      rule_settings: {block_page_enabled: true, block_reason: "This prompt tries to get around the AI app's safeguards or asks for malicious code.", payload_log: {enabled: true}}
    - id: no-pii-to-ai
      name: No personal data or secrets to AI apps
      precedence: 20
      enabled: true
      action: block
      traffic: any(app.type.ids[*] in {25}) and any(dlp.profiles[*] in {"pii" "credentials_and_secrets"})
      rule_settings: {block_page_enabled: true, block_reason: "Personal data and secrets may not be sent to AI apps."}
    - id: capture-ai-prompts
      name: Capture prompts to AI apps (encrypted)
      precedence: 30
      enabled: true
      action: allow
      traffic: any(app.type.ids[*] in {25})
      rule_settings: {payload_log: {enabled: true}}
`

// Allow is what `gatehouse demo --allow` adds to the demo policy: whole addresses and domains,
// in normal form.
type Allow struct {
	Emails  []string
	Domains []string
}

// Add adds one --allow value: an e-mail address ("you@example.org") or a domain ("example.org"
// or "@example.org"), checked and normalised as policies normalise them.
func (a *Allow) Add(v string) error {
	v = strings.TrimSpace(v)
	if strings.Contains(strings.TrimPrefix(v, "@"), "@") {
		e, err := mailaddr.Normalize(v)
		if err != nil {
			return fmt.Errorf("--allow %q: %w", v, err)
		}
		a.Emails = append(a.Emails, e)
		return nil
	}
	d := strings.TrimPrefix(v, "@")
	if d == "" {
		return fmt.Errorf("--allow %q: want an e-mail address (you@example.org) or a domain (example.org)", v)
	}
	n, err := mailaddr.NormalizeDomain(d)
	if err != nil {
		return fmt.Errorf("--allow %q: %w", v, err)
	}
	a.Domains = append(a.Domains, n)
	return nil
}

// Rule describes who may sign in, for the banner and the login page: "addresses at example.com
// and you@example.org".
func (a Allow) Rule() string {
	doms := append([]string{DefaultDomain}, a.Domains...)
	for i, d := range doms {
		doms[i] = "@" + d
	}
	parts := []string{"addresses " + strings.Join(doms, ", ")}
	parts = append(parts, a.Emails...)
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// Hint is the note the demo's e-mail page shows under its heading.
func (a Allow) Hint() string {
	return "Demo: only " + a.Rule() + " receive a PIN (add yours with gatehouse demo --allow); the PIN is written to the terminal, not e-mailed."
}

// Config returns the demo configuration with the demo app served by upstreamURL; see
// Options.Config.
func Config(dataDir, listen, upstreamURL string) string {
	return Options{DataDir: dataDir, Listen: listen, Upstream: upstreamURL}.Config()
}

// Config returns the demo configuration: SQLite and the master key in DataDir, the auth domain
// and the demo app on *.localhost, e-mail PIN login with PINs in the log, anyone at example.com
// (and Allow) allowed, and /public/ of the demo app open to everyone. The file can be copied
// and served with `gatehouse serve --config` as it is: the demo app is the built-in origin.
func (o Options) Config() string {
	upstream := o.Upstream
	if upstream == "" {
		upstream = store.UpstreamBuiltinDemo
	}
	var include strings.Builder
	fmt.Fprintf(&include, "      - {email_domain: {domain: %s}}\n", strconv.Quote(DefaultDomain))
	for _, d := range o.Allow.Domains {
		fmt.Fprintf(&include, "      - {email_domain: {domain: %s}}\n", strconv.Quote(d))
	}
	for _, e := range o.Allow.Emails {
		fmt.Fprintf(&include, "      - {email: {email: %s}}\n", strconv.Quote(e))
	}
	var gatewayListen, warpApp, tokens, gw, mcp, mcpPolicy string
	if o.Gateway != "" || o.MCPServerURL != "" {
		tokens = fmt.Sprintf("service_tokens:\n  - {id: demo-cli, name: Demo CLI (gateway and MCP portal), client_id: %s, client_secret: {file: %q}}\n",
			TokenClientID, o.TokenSecretFile)
	}
	if o.MCPServerURL != "" {
		mcp, mcpPolicy = mcpConfig(o.MCPServerURL), mcpTokenPolicy
	}
	if o.Gateway != "" {
		gatewayListen = fmt.Sprintf("  gateway: %q\n", o.Gateway)
		warpApp = `  - id: device-enrollment
    type: warp
    name: Gateway device enrolment
    policies: [{ref: example-com, precedence: 1}]
`
		gw = gatewayConfig
		if o.PromptLogPublicKey != "" {
			gw += fmt.Sprintf("dlp:\n  payload_log: {public_key: %q}\n", o.PromptLogPublicKey)
		}
	}
	return fmt.Sprintf(`# Written by "gatehouse demo" at every start (changes are lost). To experiment, stop the demo,
# copy this file and run "gatehouse serve --config COPY": it uses the demo's database and master
# key, and the demo app is Gatehouse's built-in origin (upstream: builtin:demo); point upstream at
# your own application's URL instead. Relative paths resolve against the file's directory.
version: 1
organization:
  name: Gatehouse demo
  auth_domain: auth.localhost
  session_duration: 24h
listen:
  public: %q
  internal: "127.0.0.1:0"
%sstorage:
  driver: sqlite
  dsn: %q
secrets:
  master_key_file: %q
identity_providers:
  - id: pin
    name: E-mail PIN
    type: onetimepin
applications:
  - id: demo
    name: Demo app
    destinations: [demo.localhost]
    upstream: %q
    session_duration: 8h
    app_launcher_visible: true
    policies: [{ref: example-com, precedence: 1}]
  - id: demo-public
    name: Demo app (public pages)
    destinations: ["demo.localhost/public/*"]
    upstream: %q
    policies: [{ref: everyone-bypass, precedence: 1}]
  - id: launcher
    type: app_launcher
    name: App Launcher
    policies: [{ref: example-com, precedence: 1}]
  - id: console
    type: admin_console
    name: Admin console
    policies: [{ref: example-com, precedence: 1, role: administrator}]
  - id: docs
    type: bookmark
    name: Gatehouse docs (bookmark)
    domain: https://github.com/gatehouse/gatehouse/tree/main/docs
    app_launcher_visible: true
%spolicies:
  - id: example-com
    name: Anyone at example.com (and --allow)
    decision: allow
    include:
%s  - id: everyone-bypass
    name: Public pages
    decision: bypass
    include: [{everyone: {}}]
%s%s%s%s`, o.Listen, gatewayListen, "file:"+o.DataDir+"/gatehouse.db", o.DataDir+"/master.key", upstream, upstream, warpApp, include.String(), mcpPolicy, tokens, gw, mcp)
}
