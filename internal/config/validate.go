package config

import (
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/internal/ai"
	"github.com/gatehouse/gatehouse/internal/configfield"
	"github.com/gatehouse/gatehouse/internal/identity/connectors"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// Session duration bounds (Cloudflare's: 15 minutes to one month).
const (
	MinOrgSessionDuration = 15 * time.Minute
	MaxSessionDuration    = 720 * time.Hour
	minKeyRotation        = time.Hour
	minClientSecretLen    = 32
)

// Validate checks f as it is (call SetDefaults first for a File built in Go) and returns a
// *ValidationError listing every problem, or nil. Parse calls it. It reads the TLS certificate
// and key and checks that the GeoIP database and the audit file's directory exist (unless the
// file was loaded with LoadOffline), but resolves no secret and does not look at the master key
// or the database (see CheckSecrets and CheckEnvironment).
func (f *File) Validate() error {
	if ve := f.problems(f.validate()); ve != nil {
		return ve
	}
	return nil
}

type checker struct {
	f      *File
	issues []issue
}

func (c *checker) add(path, msg string) { c.issues = append(c.issues, issue{path: path, msg: msg}) }

func (c *checker) addf(path, format string, args ...any) { c.add(path, fmt.Sprintf(format, args...)) }

func (f *File) validate() []issue {
	c := &checker{f: f}
	c.version()
	c.organization()
	c.listen()
	c.tls()
	c.storage()
	c.secrets()
	c.geoip()
	c.trustedProxies()
	c.identityProviders()
	c.applications()
	c.policies()
	c.ids("groups", len(f.Groups), func(i int) string { return f.Groups[i].ID })
	c.ids("lists", len(f.Lists), func(i int) string { return f.Lists[i].ID })
	c.serviceTokens()
	c.mcp()
	c.proxy()
	c.limits()
	c.gateway()
	c.dlp()
	c.log()
	c.audit()
	c.compile()
	return c.issues
}

func (c *checker) version() {
	switch v := c.f.Version; {
	case v == 0 && !c.f.src.has("version"):
		c.add("version", "is required; write version: 1")
	case v != 1:
		c.addf("version", "unsupported version %d; this release reads version 1", v)
	}
}

// writtenZero reports whether the file spells out a zero duration at path (which SetDefaults
// would otherwise silently replace).
func (c *checker) writtenZero(path string) bool {
	if c.f.src == nil {
		return false
	}
	n, ok := lookup(c.f.src.root, path)
	if !ok || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return false
	}
	var d store.Duration
	return d.UnmarshalText([]byte(n.Value)) == nil && d == 0
}

// durationIn checks a duration that must lie in [lo, hi]. A written 0 is out of range even
// where the field's default applies, because "0s" reads as "immediately".
func (c *checker) durationIn(path string, d store.Duration, lo, hi time.Duration, hint string) {
	if c.writtenZero(path) || (d != 0 && (d.Std() < lo || d.Std() > hi)) {
		if lo == 0 {
			c.addf(path, "must be greater than 0 and at most %s%s", fmtDuration(hi), hint)
			return
		}
		c.addf(path, "must be between %s and %s%s", fmtDuration(lo), fmtDuration(hi), hint)
	}
}

// fmtDuration writes 720h for 720h0m0s and 15m for 15m0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (c *checker) organization() {
	o := &c.f.Organization
	if msg := hostNameProblem(o.AuthDomain); msg != "" {
		c.add("organization.auth_domain", msg)
	}
	c.durationIn("organization.session_duration", o.SessionDuration, MinOrgSessionDuration, MaxSessionDuration, "")
	if _, ok := wire.ByName(o.Wire); !ok {
		c.addf("organization.wire", "unknown wire profile %q; want gatehouse or cloudflare", o.Wire)
	}
	if c.writtenZero("organization.key_rotation_interval") || o.KeyRotationInterval.Std() < minKeyRotation {
		c.addf("organization.key_rotation_interval", "must be at least %s", fmtDuration(minKeyRotation))
		return
	}
	if c.writtenZero("organization.key_overlap") {
		c.add("organization.key_overlap", "must be greater than 0")
		return
	}
	// A token signed just before a rotation must verify until it expires, and only the current
	// and the previous key are published.
	longest, where := o.SessionDuration.Std(), "organization.session_duration"
	if longest > MaxSessionDuration {
		longest = 0 // reported above
	}
	for i, a := range c.f.Applications {
		if d := a.SessionDuration.Or(DefaultSessionDuration); d > longest && d <= MaxSessionDuration {
			longest, where = d, fmt.Sprintf("applications[%d].session_duration", i)
		}
	}
	for i, p := range c.f.Policies {
		if d := p.SessionDuration.Std(); d > longest && d <= MaxSessionDuration {
			longest, where = d, fmt.Sprintf("policies[%d].session_duration", i)
		}
	}
	switch {
	case o.KeyOverlap.Std() < longest:
		c.addf("organization.key_overlap", "must be at least the longest session duration, %s (%s): a rotated-out key must verify every token it signed until it expires",
			fmtDuration(longest), where)
	case o.KeyOverlap > o.KeyRotationInterval:
		c.addf("organization.key_overlap", "must not be longer than key_rotation_interval (%s): only the current and the previous key are published",
			fmtDuration(o.KeyRotationInterval.Std()))
	}
}

// hostNameProblem checks a bare DNS host name (the auth domain).
func hostNameProblem(h string) string {
	switch {
	case h == "":
		return "is required"
	case strings.Contains(h, "://"):
		return "must be a bare host name such as auth.example.com, without a scheme"
	case strings.ContainsAny(h, "/?#"):
		return "must be a bare host name such as auth.example.com, without a path"
	case strings.Contains(h, ":") || strings.Contains(h, "["):
		return "must be a bare host name such as auth.example.com, without a port"
	case strings.HasSuffix(h, "."):
		return "must not end with a dot"
	case !validHostName(h):
		return "is not a valid host name (letters, digits and '-' in dot-separated labels)"
	}
	return ""
}

// validHostName accepts a DNS name of letters, digits and '-' in labels of 1 to 63 characters
// that do not start or end with '-'.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-') {
				return false
			}
		}
	}
	return true
}

func (c *checker) listen() {
	l := c.f.Listen
	type addr struct {
		path, value string
		host        string
		port        int
	}
	var addrs []addr
	for _, a := range []addr{{path: "listen.public", value: l.Public}, {path: "listen.internal", value: l.Internal}, {path: "listen.gateway", value: l.Gateway}} {
		if a.value == "" {
			if a.path != "listen.gateway" {
				c.add(a.path, "is required")
			}
			continue
		}
		host, port, msg := parseListenAddr(a.value)
		if msg != "" {
			c.add(a.path, msg)
			continue
		}
		a.host, a.port = host, port
		for _, b := range addrs {
			if a.port != 0 && a.port == b.port && (a.host == b.host || anyHost(a.host) || anyHost(b.host)) {
				c.addf(a.path, "conflicts with %s (%s)", b.path, b.value)
			}
		}
		addrs = append(addrs, a)
	}
}

// parseListenAddr parses "host:port" or ":port" with a numeric port.
func parseListenAddr(s string) (host string, port int, msg string) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, "must be host:port or :port, e.g. :443 or 127.0.0.1:9090"
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, "port must be a number between 0 and 65535"
	}
	if h != "" && net.ParseIP(h) == nil && !validHostName(h) {
		return "", 0, "host must be an IP address or a host name"
	}
	return h, int(n), ""
}

func anyHost(h string) bool {
	ip := net.ParseIP(h)
	return h == "" || ip != nil && ip.IsUnspecified()
}

func (c *checker) tls() {
	t := c.f.TLS
	switch {
	case t.CertFile == "" && t.KeyFile == "":
		return
	case t.CertFile == "":
		c.add("tls.cert_file", "is required when key_file is set")
		return
	case t.KeyFile == "":
		c.add("tls.key_file", "is required when cert_file is set")
		return
	}
	if c.f.offline {
		return
	}
	ok := true
	for _, p := range []struct{ path, file string }{{"tls.cert_file", t.CertFile}, {"tls.key_file", t.KeyFile}} {
		if msg := regularFileProblem(p.file); msg != "" {
			c.add(p.path, msg)
			ok = false
		}
	}
	if !ok {
		return
	}
	if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		// crypto/tls errors describe the PEM structure, never the key material.
		c.addf("tls", "cannot load the certificate and key: %v", err)
	}
}

// regularFileProblem checks that a file exists and is a regular file.
func regularFileProblem(name string) string {
	fi, err := os.Stat(name)
	switch {
	case err != nil:
		return fmt.Sprintf("cannot read %s: %v", name, errorCause(err))
	case !fi.Mode().IsRegular():
		return fmt.Sprintf("%s is not a regular file", name)
	}
	return ""
}

// errorCause drops the "stat <name>: " prefix of a *os.PathError; the name is already shown.
func errorCause(err error) error {
	if pe := (*os.PathError)(nil); errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (c *checker) storage() {
	s := c.f.Storage
	switch s.Driver {
	case DriverSQLite:
	case DriverPostgres:
		if s.DSN.IsZero() {
			c.add("storage.dsn", "is required for postgres")
		}
	default:
		c.addf("storage.driver", "unknown driver %q; want sqlite or postgres", s.Driver)
	}
	c.durationIn("storage.query_timeout", s.QueryTimeout, 100*time.Millisecond, time.Minute, "")
}

func (c *checker) secrets() {
	if c.f.Secrets.MasterKeyFile == "" {
		c.add("secrets.master_key_file", "is required: a file holding 32 random bytes as hex or base64")
	}
}

func (c *checker) geoip() {
	if g := c.f.GeoIP.MMDBFile; g != "" && !c.f.offline {
		if msg := regularFileProblem(g); msg != "" {
			c.add("geoip.mmdb_file", msg)
		}
	}
}

// maxIDLen bounds object ids; they appear in URLs and logs.
const maxIDLen = 128

// idProblem checks an object id: letters, digits, '-', '_' and '.', starting with a letter or
// digit (so that no id is "." or ".." where ids become URL path segments).
func idProblem(id string) string {
	switch {
	case id == "":
		return "is required"
	case len(id) > maxIDLen:
		return fmt.Sprintf("must be at most %d characters", maxIDLen)
	case !isAlnum(id[0]):
		return "must start with a letter or digit"
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; !isAlnum(b) && b != '-' && b != '_' && b != '.' {
			return "may only contain letters, digits, '-', '_' and '.'"
		}
	}
	return ""
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// ids checks the ids of one kind of object: present, well-formed, unique.
func (c *checker) ids(section string, n int, id func(int) string) {
	seen := map[string]int{}
	for i := range n {
		path := fmt.Sprintf("%s[%d].id", section, i)
		v := id(i)
		if msg := idProblem(v); msg != "" {
			c.add(path, msg)
			continue
		}
		if j, dup := seen[v]; dup {
			c.addf(path, "duplicate id %q (also used by %s[%d])", v, section, j)
			continue
		}
		seen[v] = i
	}
}

func (c *checker) identityProviders() {
	ps := c.f.IdentityProviders
	c.ids("identity_providers", len(ps), func(i int) string { return ps[i].ID })
	for i, p := range ps {
		path := fmt.Sprintf("identity_providers[%d]", i)
		switch p.Type {
		case "":
			c.add(path+".type", "is required")
		case store.IdPOneTimePIN, store.IdPOIDC, store.IdPSAML, store.IdPGitHub, store.IdPGoogle:
			if !connectors.Implemented(p.Type) {
				c.addf(path+".type", "type %q is not supported yet; this release supports %s", p.Type, strings.Join(connectors.Types(), ", "))
				continue
			}
			if err := connectors.Validate(p); err != nil {
				c.fieldErrors(path+".config", err)
			}
		default:
			c.addf(path+".type", "unknown type %q; this release supports %s", p.Type, strings.Join(connectors.Types(), ", "))
		}
		c.scimConfig(path+".scim_config", p.SCIMConfig)
	}
}

// scimConfig checks an identity provider's inbound SCIM settings (access-spec.md §6.1).
func (c *checker) scimConfig(path string, sc *store.SCIMConfig) {
	if sc == nil {
		return
	}
	switch sc.IdentityUpdateBehavior {
	case "", store.SCIMUpdateAutomatic, store.SCIMUpdateReauth, store.SCIMUpdateNoAction:
	default:
		c.addf(path+".identity_update_behavior", "unknown value %q; use %s, %s or %s", sc.IdentityUpdateBehavior,
			store.SCIMUpdateAutomatic, store.SCIMUpdateReauth, store.SCIMUpdateNoAction)
	}
	if sc.SeatDeprovision && !sc.UserDeprovision {
		c.add(path+".seat_deprovision", "requires user_deprovision")
	}
}

// fieldErrors reports the problems of a type-specific config found at path.
func (c *checker) fieldErrors(path string, err error) {
	var es configfield.Errors
	if !errors.As(err, &es) {
		c.add(path, err.Error())
		return
	}
	for _, e := range es {
		p := path
		if e.Field != "" {
			p += "." + e.Field
		}
		c.add(p, e.Msg)
	}
}

// corsMethods are the methods Cloudflare accepts in cors_headers.allowed_methods.
var corsMethods = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

func (c *checker) applications() {
	apps := c.f.Applications
	c.ids("applications", len(apps), func(i int) string { return apps[i].ID })
	idps := map[string]bool{}
	for _, p := range c.f.IdentityProviders {
		idps[p.ID] = true
	}
	auds := map[string]int{}
	launcher, warp, console := -1, -1, -1
	for i := range apps {
		a := &apps[i]
		path := fmt.Sprintf("applications[%d]", i)
		switch a.Type {
		case store.AppSelfHosted:
			if len(a.Destinations) == 0 {
				c.add(path+".destinations", "a self_hosted application needs at least one destination")
			}
			if a.Upstream == "" {
				c.add(path+".upstream", "is required for a self_hosted application")
			} else if msg := upstreamProblem(a.Upstream); msg != "" {
				c.add(path+".upstream", msg)
			}
		case store.AppBookmark, store.AppAppLauncher:
			if a.Upstream != "" {
				c.addf(path+".upstream", "only self_hosted applications have an upstream, not %s", a.Type)
			}
			if a.Type == store.AppAppLauncher {
				if launcher >= 0 {
					c.addf(path+".type", "there can be only one app_launcher application (applications[%d] is one)", launcher)
				}
				launcher = i
			}
		case store.AppWarp:
			c.warpApp(path, i, a, &warp)
		case store.AppAdminConsole:
			c.consoleApp(path, i, a, &console)
		case store.AppSaaS:
			if a.Upstream != "" || len(a.Destinations) > 0 {
				c.add(path+".type", "a saas application has no upstream or destinations: Gatehouse is its identity provider")
			}
			c.saasApp(path+".saas_app", a.SaaSApp)
		default:
			c.addf(path+".type", "unknown type %q; want self_hosted, saas, bookmark, app_launcher, warp or admin_console", a.Type)
		}
		c.policyLinkRoles(path, a)
		if a.Type != store.AppSaaS && a.SaaSApp != nil {
			c.add(path+".saas_app", "only saas applications have saas_app")
		}
		if a.Type == store.AppBookmark {
			if a.Domain == "" {
				c.add(path+".domain", "a bookmark needs the URL its tile opens")
			} else if msg := absoluteURLProblem(a.Domain); msg != "" {
				c.add(path+".domain", msg)
			}
		}

		if a.AUD != "" {
			if len(a.AUD) != 64 || strings.ToLower(a.AUD) != a.AUD || !isHex(a.AUD) {
				c.add(path+".aud", "must be 64 lower-case hexadecimal characters")
			} else if j, dup := auds[a.AUD]; dup {
				c.addf(path+".aud", "is also the aud of applications[%d]; audience tags must be unique", j)
			} else {
				auds[a.AUD] = i
			}
		}
		c.durationIn(path+".session_duration", a.SessionDuration, 0, MaxSessionDuration, " (leave it out for the default, 24h)")

		seen := map[string]int{}
		for j, id := range a.AllowedIdPs {
			p := fmt.Sprintf("%s.allowed_idps[%d]", path, j)
			if k, dup := seen[id]; dup {
				c.addf(p, "duplicate of allowed_idps[%d]", k)
			} else if !idps[id] {
				c.addf(p, "unknown identity provider %q", id)
			}
			seen[id] = j
		}
		if a.AutoRedirectToIdentity {
			switch {
			case len(a.AllowedIdPs) > 0 && len(a.AllowedIdPs) != 1:
				c.addf(path+".auto_redirect_to_identity", "requires exactly one identity provider in allowed_idps (there are %d)", len(a.AllowedIdPs))
			case len(a.AllowedIdPs) == 0 && len(c.f.IdentityProviders) != 1:
				c.addf(path+".auto_redirect_to_identity", "requires exactly one identity provider: list it in allowed_idps (the organization has %d)", len(c.f.IdentityProviders))
			}
		}
		switch a.SameSiteCookieAttribute {
		case "", "none", "lax", "strict":
		default:
			c.addf(path+".same_site_cookie_attribute", "must be none, lax or strict, not %q", a.SameSiteCookieAttribute)
		}
		for _, u := range []struct{ field, value string }{
			{"custom_deny_url", a.CustomDenyURL},
			{"custom_non_identity_deny_url", a.CustomNonIdentityDenyURL},
		} {
			if u.value != "" {
				if msg := absoluteURLProblem(u.value); msg != "" {
					c.add(path+"."+u.field, msg)
				}
			}
		}
		if a.CORSHeaders != nil {
			if a.OptionsPreflightBypass {
				c.add(path+".options_preflight_bypass", "cannot be combined with cors_headers: either Gatehouse answers preflight requests or the origin does")
			}
			c.cors(path+".cors_headers", a.CORSHeaders)
		}
		if a.PromptProtection != nil {
			c.promptProtection(path+".prompt_protection", a)
		}
	}
}

// maxBlockMessage bounds prompt_protection.block_message (it is sent in every blocked answer).
const maxBlockMessage = 1024

// promptProtection checks an application's prompt_protection (a Gatehouse extension). Its
// log_prompts rules are Access rules, checked with the policies (package policy).
func (c *checker) promptProtection(path string, a *store.Application) {
	pp := a.PromptProtection
	if a.Type != store.AppSelfHosted {
		c.addf(path, "only self_hosted applications have prompt_protection, not %s", a.Type)
		return
	}
	// The built-in topics and the organisation's custom ones (gateway.prompt_protection).
	known := slices.Clone(ai.TopicIDs)
	for _, t := range c.f.Gateway.PromptProtection.CustomTopics {
		known = append(known, t.ID)
	}
	seen := map[string]int{}
	for j, t := range pp.BlockTopics {
		p := fmt.Sprintf("%s.block_topics[%d]", path, j)
		switch k, dup := seen[t]; {
		case dup:
			c.addf(p, "duplicate of block_topics[%d]", k)
		case !slices.Contains(known, t):
			c.addf(p, "unknown topic %q; want one of %s", t, strings.Join(known, ", "))
		}
		seen[t] = j
	}
	switch pp.FailMode {
	case "", store.PromptFailClosed, store.PromptFailOpen:
	default:
		c.addf(path+".fail_mode", "must be closed or open, not %q", pp.FailMode)
	}
	switch {
	case len(pp.BlockMessage) > maxBlockMessage:
		c.addf(path+".block_message", "is longer than %d bytes", maxBlockMessage)
	case !utf8.ValidString(pp.BlockMessage) || strings.ContainsFunc(pp.BlockMessage, unicode.IsControl):
		c.add(path+".block_message", "must be UTF-8 text without control characters")
	}
	if pp.LogPrompts != nil && c.f.DLP.PayloadLog.PublicKey == "" {
		c.add(path+".log_prompts", "needs dlp.payload_log.public_key: prompt logs are encrypted to it (generate one with `gatehouse dlp keygen`)")
	}
}

// saasValidators check a saas_app by auth_type. The SaaS protocol packages provide them and the
// composition root registers them (RegisterSaaSAuthType), so that this package never imports a
// protocol handler.
var (
	saasMu         sync.RWMutex
	saasValidators = map[string]func(*store.SaaSApp) error{}
)

// RegisterSaaSAuthType makes auth_type name valid for saas applications, checked by validate
// (which reports field problems as configfield.Errors, paths relative to saas_app). It is called
// at start by the composition root for each SaaS protocol it serves; an auth_type nobody
// registered is refused.
func RegisterSaaSAuthType(name string, validate func(*store.SaaSApp) error) {
	saasMu.Lock()
	defer saasMu.Unlock()
	saasValidators[name] = validate
}

// SaaSAuthTypes returns the registered saas auth_type names, sorted.
func SaaSAuthTypes() []string {
	saasMu.RLock()
	defer saasMu.RUnlock()
	return slices.Sorted(maps.Keys(saasValidators))
}

func (c *checker) saasApp(path string, sa *store.SaaSApp) {
	if sa == nil {
		c.add(path, "is required for a saas application")
		return
	}
	saasMu.RLock()
	validate, ok := saasValidators[sa.AuthType]
	saasMu.RUnlock()
	if !ok {
		c.addf(path+".auth_type", "must be %s, not %q", orList(SaaSAuthTypes()), sa.AuthType)
		return
	}
	if err := validate(sa); err != nil {
		c.fieldErrors(path, err)
	}
}

func (c *checker) cors(path string, h *store.CORSHeaders) {
	for j, m := range h.AllowedMethods {
		if !slices.Contains(corsMethods, m) {
			c.addf(fmt.Sprintf("%s.allowed_methods[%d]", path, j), "unknown method %q; want one of %s", m, strings.Join(corsMethods, ", "))
		}
	}
	for j, hd := range h.AllowedHeaders {
		if !httpguts.ValidHeaderFieldName(hd) {
			c.add(fmt.Sprintf("%s.allowed_headers[%d]", path, j), "is not a valid header name")
		}
	}
	for j, o := range h.AllowedOrigins {
		if msg := originProblem(o); msg != "" {
			c.add(fmt.Sprintf("%s.allowed_origins[%d]", path, j), msg)
		}
	}
	if h.MaxAge < -1 || h.MaxAge > 86400 {
		c.add(path+".max_age", "must be between -1 and 86400 seconds")
	}
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// upstreamProblem checks an application's origin URL: http or https, with a host, and nothing
// that would be ambiguous or leak (userinfo, query, fragment).
func upstreamProblem(s string) string {
	if s == store.UpstreamBuiltinDemo {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http:// or https:// URL"
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "must name a host, e.g. http://10.0.0.5:8080"
	case u.User != nil:
		return "must not contain user information (credentials); configure authentication on the origin"
	case u.RawQuery != "" || u.ForceQuery:
		return "must not have a query"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not have a fragment"
	}
	return ""
}

// absoluteURLProblem checks a URL browsers are sent to: absolute http(s), no userinfo.
func absoluteURLProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http:// or https:// URL"
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "must be an absolute URL with a host"
	case u.User != nil:
		return "must not contain user information"
	}
	return ""
}

// originProblem checks a CORS origin: scheme://host[:port] and nothing else.
func originProblem(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "must be an origin such as https://app.example.com"
	}
	return ""
}

func (c *checker) policies() {
	ps := c.f.Policies
	c.ids("policies", len(ps), func(i int) string { return ps[i].ID })
	for i, p := range ps {
		c.durationIn(fmt.Sprintf("policies[%d].session_duration", i), p.SessionDuration, 0, MaxSessionDuration,
			" (leave it out to use the application's)")
	}
}

func (c *checker) serviceTokens() {
	ts := c.f.ServiceTokens
	c.ids("service_tokens", len(ts), func(i int) string { return ts[i].ID })
	clientIDs := map[string]int{}
	for i, t := range ts {
		path := fmt.Sprintf("service_tokens[%d]", i)
		if t.ClientID == "" {
			c.add(path+".client_id", "is required")
		} else if msg := idProblem(t.ClientID); msg != "" {
			c.add(path+".client_id", msg)
		} else if j, dup := clientIDs[t.ClientID]; dup {
			c.addf(path+".client_id", "is also the client_id of service_tokens[%d]", j)
		} else {
			clientIDs[t.ClientID] = i
		}
		switch hasHash, hasSecret := t.ClientSecretSHA256 != "", !t.ClientSecret.IsZero(); {
		case hasHash && hasSecret:
			c.add(path+".client_secret", "give either client_secret or client_secret_sha256, not both")
		case !hasHash && !hasSecret:
			c.add(path, "client_secret or client_secret_sha256 is required")
		case hasHash:
			if len(t.ClientSecretSHA256) != 64 || !isHex(t.ClientSecretSHA256) {
				c.add(path+".client_secret_sha256", "must be a SHA-256 in hexadecimal (64 characters)")
			}
		case t.ClientSecret.Value != "" && len(t.ClientSecret.Value) < minClientSecretLen:
			c.addf(path+".client_secret", "must be at least %d characters", minClientSecretLen)
		}
		if c.writtenZero(path + ".duration") {
			c.add(path+".duration", "must be greater than 0 (leave it out for the default, 8760h)")
		}
	}
}

func (c *checker) proxy() {
	for i, h := range c.f.Proxy.StripRequestHeaders {
		if err := wire.ValidateHeaderPattern(h); err != nil {
			c.add(fmt.Sprintf("proxy.strip_request_headers[%d]", i), strings.TrimPrefix(err.Error(), wire.ErrHeaderPattern.Error()+" "))
		}
	}
}

func (c *checker) limits() {
	l := c.f.Limits
	if l.MaxRequestHeaderBytes < 4*KiB || l.MaxRequestHeaderBytes > 16*MiB {
		c.add("limits.max_request_header_bytes", "must be between 4KiB and 16MiB")
	}
	if l.MaxRequestBodyBytes < -1 {
		c.add("limits.max_request_body_bytes", "must be a size, or -1 for no limit")
	}
	for _, d := range []struct {
		path string
		v    store.Duration
	}{{"limits.upstream_timeout", l.UpstreamTimeout}, {"limits.idle_timeout", l.IdleTimeout}} {
		if c.writtenZero(d.path) || d.v.Std() < time.Second {
			c.add(d.path, "must be at least 1s")
		}
	}
	for _, n := range []struct {
		path  string
		v, hi int
	}{
		{"limits.http2_max_concurrent_streams", l.HTTP2MaxConcurrentStreams, 1000},
		{"limits.http2_streams_per_second", l.HTTP2StreamsPerSecond, 1_000_000},
		{"limits.http2_stream_burst", l.HTTP2StreamBurst, 1_000_000},
		{"limits.http2_resets_per_second", l.HTTP2ResetsPerSecond, 1_000_000},
		{"limits.http2_reset_burst", l.HTTP2ResetBurst, 1_000_000},
	} {
		if n.v < 1 || n.v > n.hi {
			c.addf(n.path, "must be between 1 and %d", n.hi)
		}
	}
	if l.HTTP2StreamBurst < l.HTTP2MaxConcurrentStreams {
		c.add("limits.http2_stream_burst", "must be at least http2_max_concurrent_streams, or a client could not fill its streams")
	}
}

func (c *checker) log() {
	switch c.f.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		c.addf("log.level", "must be debug, info, warn or error, not %q", c.f.Log.Level)
	}
	switch c.f.Log.Format {
	case "json", "text":
	default:
		c.addf("log.format", "must be json or text, not %q", c.f.Log.Format)
	}
}

// trustedProxies checks the prefixes of a File built in Go; Parse only produces valid ones.
func (c *checker) trustedProxies() {
	for i, p := range c.f.TrustedProxies {
		if !p.IsValid() || p.Masked() != p {
			c.addf(fmt.Sprintf("trusted_proxies[%d]", i), "must be a canonical CIDR such as 10.0.0.0/8")
		}
	}
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	switch len(names) {
	case 0:
		return "one of the registered types (none are)"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
