package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/internal/store"
)

// problemStrings parses in and returns its problems as "line:col: path: msg".
func problemStrings(t *testing.T, in string) []string {
	t.Helper()
	f, err := Parse([]byte(in), "")
	if err == nil {
		if f == nil {
			t.Fatal("Parse returned neither a File nor an error")
		}
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is %T, not *ValidationError: %v", err, err)
	}
	if f != nil {
		t.Error("Parse returned a File with an error")
	}
	out := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		out[i] = p.String()
	}
	return out
}

func TestProblems(t *testing.T) {
	for _, tc := range problemCases {
		t.Run(tc.name, func(t *testing.T) {
			got := problemStrings(t, tc.in)
			if len(tc.want) == 0 {
				t.Fatal("a problem case must expect at least one problem")
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestAllProblemsReported checks that problems from every stage (decoding, checks of this
// package, route and policy compilation) are reported together, in file order.
func TestAllProblemsReported(t *testing.T) {
	in := `version: 1
organization:
  auth_domain: https://auth.example.com
  wire: cf
listen: {public: "443", gatway: ":3128"}
storage: {driver: postgres}
identity_providers:
  - {id: pin, type: saml}
applications:
  - id: wiki
    destinations: [wiki.example.com, "wiki.example.com/a*b*c"]
    upstream: http://user:pw@10.0.0.5:8080/
    allowed_idps: [nope]
    policies: [{ref: missing, precedence: 1}]
policies:
  - {id: p, decision: allow, include: [{ip: {ip: 10.0.0.300/8}}]}
service_tokens:
  - {id: t, client_id: c}
log: {level: verbose}
secrets: {master_key_file: /etc/gatehouse/master.key}
`
	want := []string{
		`gh.yaml:3:16: organization.auth_domain: must be a bare host name such as auth.example.com, without a scheme`,
		`gh.yaml:4:9: organization.wire: unknown wire profile "cf"; want gatehouse or cloudflare`,
		`gh.yaml:5:18: listen.public: must be host:port or :port, e.g. :443 or 127.0.0.1:9090`,
		`gh.yaml:5:25: listen.gatway: unknown field; did you mean "gateway"?`,
		`gh.yaml:6:10: storage.dsn: is required for postgres`,
		`gh.yaml:8:5: identity_providers[0].config.idp_public_certs: at least one IdP signing certificate is required: without one SAML stays disabled`,
		`gh.yaml:8:5: identity_providers[0].config.issuer_url: is required (or give metadata_url or metadata_xml)`,
		`gh.yaml:8:5: identity_providers[0].config.sso_target_url: is required (or give metadata_url or metadata_xml)`,
		`gh.yaml:11:38: applications[0].destinations[1]: "wiki.example.com/a*b*c": path segment "a*b*c" has more than one *`,
		`gh.yaml:12:15: applications[0].upstream: must not contain user information (credentials); configure authentication on the origin`,
		`gh.yaml:13:20: applications[0].allowed_idps[0]: unknown identity provider "nope"`,
		`gh.yaml:14:22: applications[0].policies[0].ref: unknown policy "missing"`,
		`gh.yaml:16:50: policies[0].include[0].ip.ip: invalid CIDR: netip.ParsePrefix("10.0.0.300/8"): ParseAddr("10.0.0.300"): IPv4 field has value >255`,
		`gh.yaml:18:5: service_tokens[0]: client_secret or client_secret_sha256 is required`,
		`gh.yaml:19:14: log.level: must be debug, info, warn or error, not "verbose"`,
	}
	_, err := Parse([]byte(in), "gh.yaml")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("Error():\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	for _, p := range ve.Problems {
		if p.File != "gh.yaml" || p.Line == 0 || p.Column == 0 || p.Path == "" {
			t.Errorf("problem without a full position: %+v", p)
		}
	}
}

func TestExample(t *testing.T) {
	f, err := Parse(Example(), "example.yaml")
	if err != nil {
		t.Fatalf("the example does not validate:\n%v", err)
	}
	cfg, err := f.StoreConfig()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Applications) != 6 || len(cfg.Policies) != 2 || len(cfg.ServiceTokens) != 1 {
		t.Errorf("unexpected example content: %d apps, %d policies, %d tokens",
			len(cfg.Applications), len(cfg.Policies), len(cfg.ServiceTokens))
	}
	// Example hands out a copy.
	Example()[0] = 'X'
	if Example()[0] == 'X' {
		t.Error("Example returns the embedded slice itself")
	}
}

func TestDefaults(t *testing.T) {
	f, err := Parse([]byte(head+`identity_providers: [{id: pin, type: onetimepin}]
applications: [{id: wiki, destinations: [wiki.example.com], upstream: "http://10.0.0.5"}]
service_tokens: [{id: ci, client_id: ci.access, client_secret_sha256: `+sha0+`}]
`), "min.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := File{
		Version: 1,
		Organization: store.Organization{
			Name:                "Gatehouse",
			AuthDomain:          "auth.example.com",
			SessionDuration:     store.Duration(24 * time.Hour),
			Wire:                "gatehouse",
			KeyRotationInterval: store.Duration(1008 * time.Hour),
			KeyOverlap:          store.Duration(168 * time.Hour),
		},
		Listen:            Listen{Public: ":80", Internal: "127.0.0.1:9090"},
		Storage:           Storage{Driver: "sqlite", DSN: Secret{Value: "file:gatehouse.db"}, QueryTimeout: store.Duration(5 * time.Second)},
		Secrets:           Secrets{MasterKeyFile: "m.key"},
		IdentityProviders: []store.IdentityProvider{{ID: "pin", Name: "pin", Type: "onetimepin"}},
		Applications: []store.Application{{
			ID: "wiki", Type: "self_hosted", Name: "wiki",
			Destinations: []store.Destination{{Type: "public", URI: "wiki.example.com"}},
			Upstream:     "http://10.0.0.5",
		}},
		ServiceTokens: []ServiceToken{{
			ID: "ci", Name: "ci", ClientID: "ci.access", ClientSecretSHA256: sha0,
			Duration: store.Duration(8760 * time.Hour),
		}},
		Limits: Limits{
			MaxRequestHeaderBytes:     64 << 10,
			MaxRequestBodyBytes:       100 << 20,
			UpstreamTimeout:           store.Duration(60 * time.Second),
			IdleTimeout:               store.Duration(2 * time.Minute),
			HTTP2MaxConcurrentStreams: 100, HTTP2StreamsPerSecond: 500, HTTP2StreamBurst: 1000,
			HTTP2ResetsPerSecond: 10, HTTP2ResetBurst: 100,
		},
		Gateway: Gateway{Limits: GatewayLimits{
			MaxRequestHeaderBytes: 64 << 10, IdleTimeout: store.Duration(2 * time.Minute),
			ConnectTimeout: store.Duration(30 * time.Second), TunnelIdleTimeout: store.Duration(time.Hour), MaxTunnels: 4096,
		},
			Usage:      GatewayUsage{Retention: store.Duration(90 * 24 * time.Hour), FlushInterval: store.Duration(time.Minute)},
			PromptLogs: GatewayPromptLogs{Retention: store.Duration(30 * 24 * time.Hour)},
		},
		DLP: DLP{MaxScanBytes: 16 << 20},
		MCP: MCP{CallLogs: MCPCallLogs{Retention: store.Duration(30 * 24 * time.Hour)}},
		Log: Log{Level: "info", Format: "json"},
	}
	f.src = nil
	if !reflect.DeepEqual(*f, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *f, want)
	}
	if f.Applications[0].SessionDuration != 0 {
		t.Error("application session_duration must stay unset (the store default applies)")
	}

	// With TLS the public listener defaults to :443.
	cert, key := writeKeyPair(t)
	f, err = Parse(fmt.Appendf(nil, "%stls: {cert_file: %s, key_file: %s}\n", head, cert, key), "tls.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f.Listen.Public != ":443" {
		t.Errorf("public listener with TLS = %q, want :443", f.Listen.Public)
	}

	// SetDefaults is idempotent and keeps what is set.
	g := *f
	g.SetDefaults()
	if !reflect.DeepEqual(g, *f) {
		t.Error("SetDefaults is not idempotent")
	}
}

func TestAuthDomainLowerCased(t *testing.T) {
	f, err := Parse([]byte("version: 1\norganization: {auth_domain: Auth.Example.COM}\nsecrets: {master_key_file: m.key}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if f.Organization.AuthDomain != "auth.example.com" {
		t.Errorf("auth_domain = %q", f.Organization.AuthDomain)
	}
}

func TestYAMLFeatures(t *testing.T) {
	in := head + `x-upstream: &up http://10.0.0.5:8080
x-app: &app
  type: self_hosted
  session_duration: 8h
  policies: [{ref: everyone, precedence: 1}]
applications:
  - <<: *app
    id: a
    destinations: [a.example.com]
    upstream: *up
  - <<: *app
    id: b
    destinations: [b.example.com]
    upstream: *up
    session_duration: 1h
policies: [{id: everyone, decision: allow, include: [{everyone: {}}]}]
trusted_proxies: [10.0.0.0/8, 192.0.2.1, "2001:db8::/32"]
`
	f, err := Parse([]byte(in), "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Applications[0], f.Applications[1]
	if a.Upstream != "http://10.0.0.5:8080" || a.SessionDuration.Std() != 8*time.Hour || len(a.Policies) != 1 {
		t.Errorf("merged app a = %+v", a)
	}
	if b.SessionDuration.Std() != time.Hour {
		t.Errorf("explicit key must override the merged one: %v", b.SessionDuration)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/32")}
	if !reflect.DeepEqual(f.TrustedProxies, want) {
		t.Errorf("trusted_proxies = %v", f.TrustedProxies)
	}

	// A problem inside an aliased value is reported where the alias points.
	got := problemStrings(t, head+"x-bad: &bad {uri: a.example.com, tipe: public}\napplications: [{id: a, destinations: [*bad], upstream: 'http://a'}]\n")
	if want := []string{`4:34: applications[0].destinations[0].tipe: unknown field; did you mean "type"?`}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEmptyAndHugeDocuments(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "---\n"} {
		got := problemStrings(t, in)
		if len(got) != 1 || got[0] != "the configuration is empty" {
			t.Errorf("%q: %q", in, got)
		}
	}
	// Aliases that multiply (a "billion laughs" document) stop at the node budget instead of
	// exhausting time and memory.
	var b strings.Builder
	b.WriteString(head + "x-r: &r {everyone: {}}\nx-p: &p {id: p, decision: allow, include: [*r")
	b.WriteString(strings.Repeat(", *r", 2000))
	b.WriteString("]}\npolicies: [*p")
	b.WriteString(strings.Repeat(", *p", 2000))
	b.WriteString("]\n")
	got := problemStrings(t, b.String())
	if len(got) != 1 || !strings.HasSuffix(got[0], "document is too large (or expands too many aliases)") {
		t.Errorf("got %d problems: %.300q", len(got), got)
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	const v = "hunter2-hunter2-hunter2-hunter2-hunter2"
	tok := ServiceToken{ID: "t", ClientID: "c", ClientSecret: Secret{Value: v}}
	j, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%+v", tok), fmt.Sprintf("%#v", tok), string(j),
		Secret{Value: v}.LogValue().String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret value printed: %s", s)
		}
	}
	// Nor in problems: a secret given where a list is expected is described, not quoted.
	got := problemStrings(t, head+"trusted_proxies: "+v+"\nservice_tokens: [{id: t, client_id: c, client_secret: {value: "+v+", env: X}}]\n")
	if strings.Contains(strings.Join(got, "\n"), "hunter2") || len(got) != 2 {
		t.Errorf("problems: %q", got)
	}
}

func TestTLS(t *testing.T) {
	cert, key := writeKeyPair(t)
	otherCert, _ := writeKeyPair(t)
	if _, err := Parse(fmt.Appendf(nil, "%stls: {cert_file: %s, key_file: %s}\n", head, cert, key), ""); err != nil {
		t.Fatalf("valid key pair: %v", err)
	}
	got := problemStrings(t, fmt.Sprintf("%stls: {cert_file: %s, key_file: %s}\n", head, otherCert, key))
	if want := "4:6: tls: cannot load the certificate and key: tls: private key does not match public key"; len(got) != 1 || got[0] != want {
		t.Errorf("mismatched pair: %q", got)
	}
	got = problemStrings(t, fmt.Sprintf("%stls: {cert_file: %s, key_file: %s}\n", head, key, key))
	if len(got) != 1 || !strings.HasPrefix(got[0], "4:6: tls: cannot load the certificate and key:") {
		t.Errorf("key as cert: %q", got)
	}
	got = problemStrings(t, fmt.Sprintf("%stls: {cert_file: %s, key_file: %s}\n", head, cert, filepath.Dir(key)))
	if len(got) != 1 || !strings.Contains(got[0], "tls.key_file: ") || !strings.HasSuffix(got[0], "is not a regular file") {
		t.Errorf("directory as key: %q", got)
	}
	// The key material never appears in a problem.
	keyPEM, _ := os.ReadFile(key)
	block, _ := pem.Decode(keyPEM)
	if strings.Contains(strings.Join(got, ""), hex.EncodeToString(block.Bytes)[:16]) {
		t.Error("key material in a problem")
	}
}

// writeKeyPair writes a self-signed ECDSA certificate and its key to a temporary directory.
func writeKeyPair(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"auth.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestGeoIP(t *testing.T) {
	mmdb := filepath.Join(t.TempDir(), "country.mmdb")
	if err := os.WriteFile(mmdb, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Parse([]byte(head+"geoip: {mmdb_file: "+mmdb+"}\n"), "")
	if err != nil || f.GeoIP.MMDBFile != mmdb {
		t.Fatalf("got %+v, %v", f, err)
	}
}

// roundTripYAML sets every field of every object type (the test below checks that it does).
const roundTripYAML = `version: 1
secrets: {master_key_file: /etc/gatehouse/master.key}
dlp: {payload_log: {public_key: "MeowHbh6IGDodYHkXrFjkcB7Alm1SgVxf6XBTkDqJTY="}}
organization:
  name: Example
  auth_domain: auth.example.com
  session_duration: 12h
  wire: cloudflare
  deny_unmatched_requests: true
  key_rotation_interval: 720h
  key_overlap: 240h
  custom_deny_message: Ask IT.
  login_design: {background_color: "#0b1f3a", text_color: "#ffffff", logo_path: "https://example.com/org.svg", header_text: Example SSO, footer_text: Help at it@example.com}
identity_providers:
  - id: pin
    name: E-mail PIN
    type: onetimepin
    config: {smtp: {host: smtp.example.com, port: 2525, from: a@example.com, tls: tls, username: u, password: {env: SMTP_PASSWORD}}}
    scim_config: {enabled: true, user_deprovision: true, seat_deprovision: true, identity_update_behavior: automatic}
applications:
  - id: wiki
    type: self_hosted
    name: Wiki
    aud: 4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945
    destinations: [wiki.example.com, {type: public, uri: "wiki.example.com/admin/*"}]
    upstream: https://10.0.0.5:8443/base
    session_duration: 8h
    allowed_idps: [pin]
    auto_redirect_to_identity: true
    policies: [{ref: all, precedence: 1}, {ref: svc, precedence: 2}]
    custom_deny_message: No.
    custom_deny_url: https://example.com/denied
    custom_non_identity_deny_url: https://example.com/denied-machine
    same_site_cookie_attribute: strict
    http_only_cookie_attribute: false
    cors_headers:
      allow_all_headers: true
      allow_all_methods: true
      allow_all_origins: true
      allow_credentials: true
      allowed_headers: [X-Requested-With]
      allowed_methods: [GET, PATCH]
      allowed_origins: ["https://app.example.com"]
      max_age: 600
    service_auth_401_redirect: true
    app_launcher_visible: true
    logo_url: https://example.com/logo.png
  - id: api
    type: self_hosted
    name: API
    destinations: [api.example.com]
    upstream: http://10.0.0.6
    options_preflight_bypass: true
    policies: [{ref: svc, precedence: 1}]
    prompt_protection:
      enabled: true
      block_topics: [intent_jailbreak, content_credentials_secrets]
      fail_mode: open
      block_message: Not here.
      log_prompts: {include: [{email: {email: a@example.com}}], require: [{email_domain: {domain: example.com}}], exclude: [{everyone: {}}]}
  - {id: status, type: bookmark, name: Status, domain: "https://status.example.com", app_launcher_visible: true}
  - {id: console, type: admin_console, name: Console, policies: [{ref: all, precedence: 1, role: auditor}]}
  - id: jira
    type: saas
    name: Jira
    policies: [{ref: all, precedence: 1}]
    saas_app:
      auth_type: saml
      sp_entity_id: https://jira.example.com
      consumer_service_url: https://jira.example.com/acs
      name_id_format: id
      default_relay_state: https://jira.example.com/home
      send_empty_groups_attribute: false
      custom_attributes:
        - name: dept
          friendly_name: Department
          name_format: urn:oasis:names:tc:SAML:2.0:attrname-format:basic
          required: true
          source: {name: department, name_by_idp: [{idp_id: pin, source_name: dept}]}
  - id: chat
    type: saas
    name: Chat
    policies: [{ref: all, precedence: 1}]
    saas_app:
      auth_type: oidc
      client_id: chat
      client_secret_sha256: 0a5ea0d8e8e3c2f0e1d49c2c3bc4b9f2fd2fbd6a77d1eab7b7a0c0f7d6b3b2a1
      redirect_uris: [https://chat.example.com/cb]
      scopes: [openid, email, profile, groups]
      grant_types: [authorization_code_with_pkce, refresh_tokens]
      allow_pkce_without_client_secret: true
      access_token_lifetime: 15m
      refresh_token_options: {lifetime: 720h, reuse_grace_period: 30s}
      custom_claims: [{name: team, scope: profile, required: true, source: {name: team}}]
      group_filter_regex: "^eng-"
      app_launcher_url: https://chat.example.com/login
policies:
  - id: all
    name: Everyone allowed
    decision: allow
    include:
      - email: {email: a@example.com}
      - email_domain: {domain: example.com}
      - email_list: {id: people}
      - everyone: {}
      - ip: {ip: 10.0.0.0/8}
      - ip_list: {id: nets}
      - geo: {country_code: DE}
      - group: {id: staff}
      - login_method: {id: pin}
      - saml: {attribute_name: role, attribute_value: admin, identity_provider_id: pin}
      - oidc: {claim_name: groups, claim_value: eng, identity_provider_id: pin}
      - github-organization: {name: example, team: eng, identity_provider_id: pin}
      - github_organization: {name: example}
      - okta: {name: Engineering, identity_provider_id: pin}
      - azureAD: {id: 00g1, identity_provider_id: pin}
      - azure_ad: {id: 00g2}
      - gsuite: {email: eng@example.com, identity_provider_id: pin}
    require: [{auth_method: {auth_method: mfa}}]
    exclude: [{geo: {country_code: KP}}]
    session_duration: 4h
  - id: svc
    decision: non_identity
    include: [{service_token: {token_id: ci}}, {any_valid_service_token: {}}]
groups:
  - id: staff
    name: Staff
    include: [{email_domain: {domain: example.com}}]
    require: [{everyone: {}}]
    exclude: [{email: {email: intern@example.com}}]
lists:
  - {id: people, name: People, type: EMAIL, items: [{value: b@example.com, description: Bob}]}
  - {id: nets, type: IP, items: [{value: 192.0.2.0/24}]}
service_tokens:
  - id: ci
    name: CI
    client_id: ci.access
    client_secret: {env: GATEHOUSE_TEST_CI_SECRET}
    duration: 720h
    expires_at: 2030-01-31T12:00:00Z
    disabled: true
mcp_servers:
  - id: tickets
    name: Tickets
    url: https://mcp.example.com/mcp
    transport: streamable_http
    auth_type: bearer
    auth_credentials: {env: TICKETS_MCP_TOKEN}
    review_status: approved
    hold_changed_tools: true
  - id: wiki
    name: Wiki
    url: https://wiki.example.com/mcp
    auth_type: oauth
    oauth: {client_id: gatehouse, client_secret: {env: WIKI_MCP_CLIENT_SECRET}, scopes: [wiki.read]}
mcp_portals:
  - id: agents
    name: Agents
    servers:
      - server_id: tickets
        default_disabled: true
        updated_tools: [{name: search, enabled: true, alias: find, description: Finds documents., policies: [{ref: all, precedence: 1}]}]
        updated_prompts: [{name: triage, enabled: true}]
        policies: [{ref: all, precedence: 1}]
      - {server_id: wiki, on_behalf: true}
    policies: [{ref: svc, precedence: 1}]
    allowed_idps: [pin]
    session_duration: 8h
    dlp: {profiles: [credentials_and_secrets], action: log}
    prompt_injection: log
    oauth:
      dynamic_client_registration: {allow_any_on_localhost: false, allow_any_on_loopback: true, allowed_uris: ["https://claude.ai/api/mcp/auth_callback"]}
      grant: {access_token_lifetime: 10m, session_duration: 336h}
      client_id_metadata_documents: {disabled: true, allowed_networks: [10.20.0.0/16]}
mcp: {call_logs: {retention: 240h}}
`

func TestStoreConfigRoundTrip(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef-ci"
	t.Setenv("GATEHOUSE_TEST_CI_SECRET", secret)
	// Some store fields belong to features this release does not enable (github-organization
	// rules need a GitHub identity provider), so no valid file sets every field: the round trip
	// decodes without validating, and the rest of the file must be valid.
	validPart := regexp.MustCompile(`(?m)^.*(github.organization|not supported yet).*\n`).ReplaceAllString(roundTripYAML, "")
	if _, err := Parse([]byte(validPart), "rt.yaml"); err != nil {
		t.Fatal(err)
	}
	f := decodeOnly(t, roundTripYAML)
	cfg, err := f.StoreConfig()
	if err != nil {
		t.Fatal(err)
	}
	if zero := zeroFields(reflect.ValueOf(cfg).Elem(), "Config", map[string]bool{}); len(zero) > 0 {
		// Not a failure of StoreConfig: the test YAML must be extended when a store type grows.
		t.Errorf("fields never set by the round-trip YAML (extend it): %v", zero)
	}

	sum := sha256.Sum256([]byte(secret))
	if got := cfg.ServiceTokens[0].ClientSecretSHA256; got != hex.EncodeToString(sum[:]) {
		t.Errorf("client_secret_sha256 = %s", got)
	}
	j, _ := json.Marshal(cfg)
	if strings.Contains(string(j), secret) {
		t.Error("the store config contains the plaintext secret")
	}

	// The store config is the same as decoding the store types directly (after the hashing).
	var direct store.Config
	if err := yaml.Unmarshal([]byte(strings.Replace(roundTripYAML, "client_secret: {env: GATEHOUSE_TEST_CI_SECRET}",
		"client_secret_sha256: "+hex.EncodeToString(sum[:]), 1)), &direct); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, &direct) {
		t.Errorf("StoreConfig:\n%+v\nwant\n%+v", cfg, &direct)
	}

	// The lists are copies: changing the result leaves the File alone.
	cfg.Applications[0].AUD = "changed"
	if f.Applications[0].AUD == "changed" {
		t.Error("StoreConfig shares the applications slice with the File")
	}
}

// decodeOnly decodes a file and fills in defaults, without validating it.
func decodeOnly(t *testing.T, in string) *File {
	t.Helper()
	root, syntax := parseYAML([]byte(in))
	if syntax != nil {
		t.Fatal(syntax)
	}
	f := &File{}
	d := newDecoder()
	d.decode(root, reflect.ValueOf(f).Elem(), "")
	f.src = &source{root: root, failed: d.failed}
	if ve := f.problems(d.issues); ve != nil {
		t.Fatal(ve)
	}
	f.SetDefaults()
	return f
}

// zeroFields lists the struct fields reachable from v that are zero in every instance seen
// (Version and CreatedAt, which the file cannot set, excepted).
func zeroFields(v reflect.Value, path string, set map[string]bool) []string {
	var walk func(v reflect.Value, typ string)
	fields := map[string]bool{}
	walk = func(v reflect.Value, typ string) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), typ)
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i), typ)
			}
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				return
			}
			for i := range v.NumField() {
				name := v.Type().Name() + "." + v.Type().Field(i).Name
				if name == "Config.Version" || name == "ServiceToken.CreatedAt" || v.Type().Field(i).Name == "ManagedBy" {
					continue // set by the store and by Apply, never by the file
				}
				fields[name] = true
				if !v.Field(i).IsZero() {
					set[name] = true
				}
				walk(v.Field(i), name)
			}
		}
	}
	walk(v, path)
	var zero []string
	for name := range fields {
		if !set[name] {
			zero = append(zero, name)
		}
	}
	return zero
}

func TestStoreConfigSecretProblems(t *testing.T) {
	in := head + `service_tokens:
  - {id: a, client_id: a, client_secret: {env: GATEHOUSE_TEST_UNSET_SECRET}}
  - {id: b, client_id: b, client_secret: {file: /nonexistent/secret}}
  - {id: c, client_id: c, client_secret: {env: GATEHOUSE_TEST_SHORT}}
`
	t.Setenv("GATEHOUSE_TEST_SHORT", "short-secret")
	f, err := Parse([]byte(in), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.StoreConfig()
	want := strings.Join([]string{
		"s.yaml:5:42: service_tokens[0].client_secret: environment variable GATEHOUSE_TEST_UNSET_SECRET is not set",
		"s.yaml:6:42: service_tokens[1].client_secret: cannot read secret file: open /nonexistent/secret: no such file or directory",
		"s.yaml:7:42: service_tokens[2].client_secret: must be at least 32 characters",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("StoreConfig error:\n%v\nwant\n%s", err, want)
	}
	if strings.Contains(err.Error(), "short-secret") {
		t.Error("error contains the secret")
	}
}

func TestCheckSecrets(t *testing.T) {
	in := head + `storage: {driver: sqlite, dsn: {env: GATEHOUSE_TEST_DSN}}
identity_providers:
  - {id: pin, type: onetimepin, config: {smtp: {host: h, from: a@b.c, username: u, password: {env: GATEHOUSE_TEST_SMTP}}}}
service_tokens:
  - {id: a, client_id: a, client_secret: {env: GATEHOUSE_TEST_TOKEN}}
`
	f, err := Parse([]byte(in), "")
	if err != nil {
		t.Fatal(err)
	}
	err = f.CheckSecrets()
	want := strings.Join([]string{
		"4:32: storage.dsn: environment variable GATEHOUSE_TEST_DSN is not set",
		"6:94: identity_providers[0].config.smtp.password: environment variable GATEHOUSE_TEST_SMTP is not set",
		"8:42: service_tokens[0].client_secret: environment variable GATEHOUSE_TEST_TOKEN is not set",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("CheckSecrets:\n%v\nwant\n%s", err, want)
	}
	t.Setenv("GATEHOUSE_TEST_TOKEN", strings.Repeat("t", 40))
	t.Setenv("GATEHOUSE_TEST_DSN", "file:x.db")
	t.Setenv("GATEHOUSE_TEST_SMTP", "pw")
	if err := f.CheckSecrets(); err != nil {
		t.Errorf("CheckSecrets = %v", err)
	}
}

// TestValidateBuiltInGo checks a File that was not parsed: problems have paths but no position.
func TestValidateBuiltInGo(t *testing.T) {
	f := &File{Version: 1, Organization: store.Organization{AuthDomain: "auth.example.com"},
		Secrets:        Secrets{MasterKeyFile: "m.key"},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.PrefixFrom(netip.MustParseAddr("10.1.2.3"), 8)},
		Applications:   []store.Application{{ID: "a", Destinations: []store.Destination{{URI: "a.example.com"}}, Upstream: "http://a"}},
	}
	f.SetDefaults()
	err := f.Validate()
	if err == nil || err.Error() != "trusted_proxies[1]: must be a canonical CIDR such as 10.0.0.0/8" {
		t.Errorf("Validate = %v", err)
	}
	f.TrustedProxies = f.TrustedProxies[:1]
	if err := f.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
	if err := (&File{}).Validate(); err == nil || !strings.Contains(err.Error(), "version: is required") {
		t.Errorf("Validate(empty) = %v", err)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"65536": 65536, "64KiB": 64 << 10, "100MiB": 100 << 20, "1GiB": 1 << 30,
		"1KB": 1000, "2MB": 2e6, "3GB": 3e9, "10B": 10, "-1": -1, " 5 MiB ": 5 << 20} {
		var b ByteSize
		if err := b.UnmarshalText([]byte(in)); err != nil || b != want {
			t.Errorf("%q: %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "KiB", "1.5MiB", "-2", "-1KiB", "1TiB", "99999999999GiB"} {
		var b ByteSize
		if err := b.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	for b, want := range map[ByteSize]string{64 << 10: "64KiB", 100 << 20: "100MiB", 1 << 30: "1GiB", 1000: "1000", -1: "-1"} {
		if b.String() != want {
			t.Errorf("%d.String() = %s", b, b.String())
		}
	}
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gatehouse.yaml")
	if err := os.WriteFile(p, Example(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v", err)
	}
	if err := os.WriteFile(p, []byte("version: 1\norganization: {}\nsecrets: {master_key_file: m.key}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p)
	if err == nil || err.Error() != p+":2:15: organization.auth_domain: is required" {
		t.Errorf("Load = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Example())
	f.Add([]byte(roundTripYAML))
	for _, tc := range problemCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 || file != nil {
				t.Fatalf("bad error %T %v", err, err)
			}
			_ = err.Error()
			return
		}
		if _, err := file.StoreConfig(); err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("StoreConfig: %v", err)
			}
		}
		// A valid file stays valid.
		if err := file.Validate(); err != nil {
			t.Fatalf("valid file fails Validate: %v", err)
		}
	})
}
