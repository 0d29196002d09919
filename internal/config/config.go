// Package config reads Gatehouse's configuration file (schema version 1), checks it, and applies
// it to the store.
//
// # The file
//
// The file is YAML. Field names follow Cloudflare's Access API (snake_case), so that people who
// know it, and exports from it, map one to one. The type File and the types it refers to are the
// field reference: their doc comments say what each field means and what its default is. The
// access objects (organization, identity_providers, applications, policies, groups, lists) are the
// store types of package store, whose doc comments describe them; service_tokens use the
// ServiceToken type of this package, which accepts the secret itself instead of its hash. Example
// returns a commented example that is kept valid by the tests.
//
// Decoding is strict: an unknown field (a typo, or a Cloudflare field Gatehouse does not
// implement), a duplicate field and a value of the wrong kind are errors. YAML anchors, aliases
// and merge keys ("<<: *defaults") may be used; top-level keys that start with "x-" are ignored,
// so that they can hold anchored values. A file holds exactly one YAML document.
//
// # Secrets
//
// Every secret (service token client_secret, storage dsn, an SMTP password) accepts an inline
// value, a file or an environment variable; see Secret. Parsing does not read them: StoreConfig
// resolves the service token secrets it needs, CheckSecrets resolves every secret (use it to find
// an unset variable before starting), and the component that uses any other secret resolves it.
// No error message ever contains a secret value.
//
// # Paths and the machine
//
// Load resolves relative paths against the configuration file's directory (see Dir for the
// fields concerned). Parse checks the TLS certificate and key, the GeoIP database and the audit
// file's directory (LoadOffline does not); CheckEnvironment checks the rest of what serving
// needs from the machine: the master key file, the SQLite database's directory and every secret.
//
// # Defaults
//
// Parse fills in these defaults (SetDefaults) before validating; none of them weakens security:
//
//	organization.name                   "Gatehouse"
//	organization.auth_domain            lower-cased
//	organization.session_duration       24h
//	organization.wire                   gatehouse
//	organization.key_rotation_interval  1008h (6 weeks)
//	organization.key_overlap            168h (7 days)
//	listen.public                       ":443" with tls, ":80" without
//	listen.internal                     "127.0.0.1:9090"
//	storage.driver                      sqlite
//	storage.dsn                         "file:gatehouse.db" (sqlite only; postgres needs a dsn)
//	storage.query_timeout               5s
//	identity_providers[].name           its id
//	applications[].type                 self_hosted
//	applications[].name                 its id
//	service_tokens[].name               its id
//	service_tokens[].duration           8760h (one year)
//	limits.max_request_header_bytes     64KiB
//	limits.max_request_body_bytes       100MiB (-1: no limit)
//	limits.upstream_timeout             60s
//	limits.idle_timeout                 2m
//	limits.http2_max_concurrent_streams 100
//	limits.http2_streams_per_second     500
//	limits.http2_stream_burst           1000
//	limits.http2_resets_per_second      10
//	limits.http2_reset_burst            100
//	gateway.limits.max_request_header_bytes 64KiB
//	gateway.limits.idle_timeout         2m
//	gateway.limits.connect_timeout      30s
//	gateway.limits.tunnel_idle_timeout  1h
//	gateway.limits.max_tunnels          4096
//	log.level                           info
//	log.format                          json
//
// Application and policy session durations stay unset (0) when left out; the application default
// is 24h (see store.Application) and a policy defaults to its application's. A duration written
// as 0 ("0s") is an error rather than a request for the default, because it reads as "expire at
// once"; a size of 0 means the default.
//
// # Validation
//
// Parse reports every problem at once, as a *ValidationError whose problems carry the file name,
// line, column and field path ("applications[1].destinations[0]"), sorted by position. Besides
// the shape of the file it checks, among other things: version is 1; auth_domain is a bare host
// name; secrets.master_key_file is set; session durations are in range (organization 15m..720h, application and policy up to
// 720h); key_overlap covers the longest of them and does not exceed key_rotation_interval (only
// the current and the previous signing key are published); listen addresses parse and do not
// collide; the TLS files exist
// and hold a matching key pair; object ids are present, unique per kind and made of letters,
// digits, '-', '_' and '.'; identity provider and application types are implemented; references
// between objects resolve. Destination patterns and route conflicts are checked by package route,
// policies, rule groups, lists and application policy links by package policy; their findings
// are reported at the offending field like every other problem.
//
// # Applying
//
// The objects declared in the file are authoritative for what they declare. The store holds them
// marked managed_by "file", next to the objects created through the admin API (managed_by
// "api"). Apply, at every start, replaces only the file's objects in one UpdateConfig call: an
// object added to the file is added, a changed one updated, one removed from the file removed,
// and every API object is kept. A file object whose id is taken by an API object of the same
// kind is an error, and so is a reference that no longer resolves once both are merged (an API
// policy linked by a file application, say): the merged configuration is validated with the
// same checks as the file (CheckObjects). The admin API refuses to change a file object.
// Applications keep their audience tag (AUD) by id, and service tokens keep their creation time
// while their id and secret are unchanged.
package config

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/yamlpos"
)

// File is a configuration file of schema version 1.
type File struct {
	// Version is the schema version, required; this release reads version 1.
	Version int `yaml:"version"`
	// Organization holds the settings that apply to every application; auth_domain is required.
	Organization store.Organization `yaml:"organization"`
	// Listen says where Gatehouse accepts connections.
	Listen Listen `yaml:"listen"`
	// TLS is the certificate of the public listener; without it the public listener speaks plain
	// HTTP (for use behind a TLS-terminating load balancer, or demos).
	TLS TLS `yaml:"tls"`
	// Storage selects the database.
	Storage Storage `yaml:"storage"`
	// Secrets configures encryption at rest.
	Secrets Secrets `yaml:"secrets"`
	// GeoIP configures the country database used by geo rules and the JWT country claim.
	GeoIP GeoIP `yaml:"geoip"`
	// TrustedProxies are the CIDRs (or single addresses) of proxies in front of Gatehouse whose
	// X-Forwarded-For is believed. Empty by default: the client address is the TCP peer's. A CIDR
	// must be written in canonical form (10.0.0.0/8, not 10.1.2.3/8).
	TrustedProxies []netip.Prefix `yaml:"trusted_proxies"`
	// IdentityProviders are the login methods: types onetimepin, oidc, google, github and saml.
	IdentityProviders []store.IdentityProvider `yaml:"identity_providers"`
	// Applications are the protected resources: self_hosted (reverse proxied), bookmark and
	// app_launcher.
	Applications []store.Application `yaml:"applications"`
	// Policies are the reusable access policies that applications link with {ref, precedence}.
	Policies []store.Policy `yaml:"policies"`
	// Groups are reusable rule groups, referenced by the `group` selector.
	Groups []store.RuleGroup `yaml:"groups"`
	// Lists are e-mail and IP lists, referenced by the email_list and ip_list selectors.
	Lists []store.List `yaml:"lists"`
	// ServiceTokens are machine credentials.
	ServiceTokens []ServiceToken `yaml:"service_tokens"`
	// MCPServers are the MCP servers registered with the MCP server portal (see docs/mcp.md).
	MCPServers []store.MCPServer `yaml:"mcp_servers"`
	// MCPPortals are the MCP portals, each one governed MCP endpoint at <prefix>mcp/<id>.
	MCPPortals []store.MCPPortal `yaml:"mcp_portals"`
	// MCP configures what the MCP portals keep (see docs/mcp.md).
	MCP MCP `yaml:"mcp"`
	// Proxy tunes how requests are forwarded to self_hosted applications.
	Proxy Proxy `yaml:"proxy"`
	// Limits bound request sizes and timeouts on the public listener.
	Limits Limits `yaml:"limits"`
	// Gateway configures the forward proxy served on listen.gateway (see docs/gateway.md).
	Gateway Gateway `yaml:"gateway"`
	// DLP configures data loss prevention on the gateway's inspected traffic (see docs/dlp.md).
	DLP DLP `yaml:"dlp"`
	// Log configures the process log.
	Log Log `yaml:"log"`
	// Audit configures the export of audit and auth events to a file and a webhook.
	Audit Audit `yaml:"audit"`

	// src is where the File was parsed from; nil for a File built in Go.
	src *source
	// dir is the directory relative paths were resolved against ("" when they were not).
	dir string
	// offline leaves out the checks that look at the machine (LoadOffline).
	offline bool
}

// source remembers the YAML a File came from, to give problems a position.
type source struct {
	filename string
	root     *yaml.Node
	// failed holds the paths whose value could not be decoded.
	failed map[string]bool
}

// Listen holds the listener addresses, each "host:port" or ":port".
type Listen struct {
	// Public serves the auth domain and every protected application; default ":443" when tls is
	// set and ":80" otherwise.
	Public string `yaml:"public"`
	// Internal serves /metrics, /healthz, /readyz and pprof; default "127.0.0.1:9090". Never
	// expose it publicly.
	Internal string `yaml:"internal"`
	// Gateway is the forward proxy; "" (the default) turns it off.
	Gateway string `yaml:"gateway"`
}

// TLS names the PEM certificate chain and private key of the public listener. Set both or
// neither; they must exist and match when the file is validated.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether a certificate is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Storage drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Storage selects the database.
type Storage struct {
	// Driver is "sqlite" (default; one process) or "postgres" (any number of replicas).
	Driver string `yaml:"driver"`
	// DSN is the data source name, a Secret because it usually holds a password: for sqlite
	// "file:/var/lib/gatehouse/gatehouse.db" (default "file:gatehouse.db"; a relative file is
	// next to the configuration file, see Dir), for postgres "postgres://user:password@host/db?sslmode=verify-full" (required).
	DSN Secret `yaml:"dsn"`
	// QueryTimeout bounds every store operation a request (or a background task) makes: waiting
	// for a database connection, the statements and retries of one transaction. A database
	// that hangs instead of refusing connections then fails the request closed (503) after this
	// long instead of holding it. Default 5s, between 100ms and 1m.
	QueryTimeout store.Duration `yaml:"query_timeout"`
}

// Secrets configures encryption at rest.
type Secrets struct {
	// MasterKeyFile is the file holding the master key that encrypts signing keys and stored
	// secrets: 32 random bytes as hex or base64. Required; CheckEnvironment checks it and
	// `gatehouse keys init` creates it.
	MasterKeyFile string `yaml:"master_key_file"`
}

// GeoIP configures country lookups.
type GeoIP struct {
	// MMDBFile is a MaxMind-format country database (GeoLite2-Country or compatible). Without
	// it the client country is unknown: geo rules never match and the JWT has no country.
	MMDBFile string `yaml:"mmdb_file"`
}

// Proxy tunes the reverse proxy in front of self_hosted applications. Cloudflare has no
// equivalent settings.
type Proxy struct {
	// StripRequestHeaders are request header names removed from every request before it reaches an
	// application, with or without a session, in addition to the built-in list of identity and
	// client-address headers (Forwarded, X-Forwarded-*, X-Real-Ip, True-Client-Ip, Cf-*,
	// Remote-User, X-Auth-Request-*, ...; see docs/origins.md). Names match regardless of case
	// and punctuation ("X-Employee-Id" also removes x_employee_id); "X-Family-*" removes every
	// name starting with "X-Family-", "*-Suffix" every name ending in "-Suffix". Headers that
	// frame the request (Host, Content-Length, Transfer-Encoding, Connection, ...) cannot be
	// listed. Default: none beyond the built-in list.
	StripRequestHeaders []string `yaml:"strip_request_headers"`
}

// Limits bound requests on the public listener.
type Limits struct {
	// MaxRequestHeaderBytes bounds the request line and headers; default 64KiB, at least 4KiB
	// and at most 16MiB.
	MaxRequestHeaderBytes ByteSize `yaml:"max_request_header_bytes"`
	// MaxRequestBodyBytes bounds a request body forwarded to an application; default 100MiB, -1
	// for no limit. Larger bodies are refused with 413.
	MaxRequestBodyBytes ByteSize `yaml:"max_request_body_bytes"`
	// UpstreamTimeout is how long Gatehouse waits for an application's response headers; it does
	// not limit streaming responses (SSE, WebSocket, downloads). Default 60s.
	UpstreamTimeout store.Duration `yaml:"upstream_timeout"`
	// IdleTimeout is how long an idle keep-alive client connection stays open; default 2m.
	IdleTimeout store.Duration `yaml:"idle_timeout"`
	// HTTP2MaxConcurrentStreams is how many requests one HTTP/2 client connection may have open
	// at once; default 100, between 1 and 1000.
	HTTP2MaxConcurrentStreams int `yaml:"http2_max_concurrent_streams"`
	// HTTP2StreamsPerSecond and HTTP2StreamBurst bound the requests one HTTP/2 client
	// connection may start: a token bucket refilled at HTTP2StreamsPerSecond up to
	// HTTP2StreamBurst. A connection that exceeds it is closed. Defaults 500 and 1000.
	HTTP2StreamsPerSecond int `yaml:"http2_streams_per_second"`
	HTTP2StreamBurst      int `yaml:"http2_stream_burst"`
	// HTTP2ResetsPerSecond and HTTP2ResetBurst bound the requests one HTTP/2 client connection
	// may abandon (RST_STREAM) before their response is complete ("rapid reset"). A connection
	// that exceeds it is closed. Defaults 10 and 100.
	HTTP2ResetsPerSecond int `yaml:"http2_resets_per_second"`
	HTTP2ResetBurst      int `yaml:"http2_reset_burst"`
}

// Log configures the process log.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is json (default) or text.
	Format string `yaml:"format"`
}

// ServiceToken is the configuration form of a store.ServiceToken: it accepts the client secret
// itself (client_secret, as a Secret) or its SHA-256 (client_secret_sha256), exactly one of them.
// Only the hash reaches the store.
type ServiceToken struct {
	ID string `yaml:"id"`
	// Name defaults to the id.
	Name string `yaml:"name"`
	// ClientID is sent by clients in the client ID header; letters, digits, '-', '_' and '.',
	// unique among service tokens.
	ClientID string `yaml:"client_id"`
	// ClientSecretSHA256 is the lower-case hex SHA-256 of the client secret.
	ClientSecretSHA256 string `yaml:"client_secret_sha256"`
	// ClientSecret is the secret itself, at least 32 characters (e.g. `openssl rand -hex 32`).
	ClientSecret Secret `yaml:"client_secret"`
	// Duration is the token lifetime from its creation; default 8760h.
	Duration store.Duration `yaml:"duration"`
	// ExpiresAt, when set, ends the token's validity at that time.
	ExpiresAt time.Time `yaml:"expires_at"`
	// Disabled tokens never authenticate.
	Disabled bool `yaml:"disabled"`
}

// maxFileSize bounds the configuration file Load reads.
const maxFileSize = 16 << 20

// Load reads and parses the configuration file at path; see Parse. Relative paths in it are
// resolved against the file's directory (see Dir). Like Parse, it checks that the TLS
// certificate, the GeoIP database and the audit file's directory exist; CheckEnvironment checks
// the rest of what serving needs.
func Load(path string) (*File, error) { return load(path, false) }

// LoadOffline is Load without any check that looks at the machine: the TLS certificate, the
// GeoIP database and the audit file's directory are not looked at (`gatehouse config validate
// --offline`, for a file written for another machine).
func LoadOffline(path string) (*File, error) { return load(path, true) }

func load(path string, offline bool) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: reading %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("config: %s is larger than %d bytes", path, maxFileSize)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return parse(data, path, dir, offline)
}

// Parse decodes a configuration file, fills in defaults (see SetDefaults) and validates it (see
// Validate). filename is only used in problem positions. On any problem it returns a
// *ValidationError listing all of them.
func Parse(data []byte, filename string) (*File, error) { return parse(data, filename, "", false) }

// parse is Parse that resolves relative paths against dir (unless it is "") and leaves out the
// checks that look at the machine when offline.
func parse(data []byte, filename, dir string, offline bool) (*File, error) {
	root, syntax := parseYAML(data)
	if syntax != nil {
		syntax.File = filename
		return nil, &ValidationError{Problems: []Problem{*syntax}}
	}
	if n, _ := lookup(root, ""); n.Kind == 0 || n.Kind == yaml.DocumentNode || n.ShortTag() == "!!null" {
		return nil, &ValidationError{Problems: []Problem{{File: filename, Msg: "the configuration is empty"}}}
	}

	f := &File{offline: offline}
	d := newDecoder()
	d.decode(root, reflect.ValueOf(f).Elem(), "")
	f.src = &source{filename: filename, root: root, failed: d.failed}

	if f.Version != 1 && !d.failed["version"] && f.src.has("version") {
		// Another schema: everything else would be noise. (problems drops the finding when the
		// document around it did not decode; then the decoding problems are reported below.)
		if ve := f.problems([]issue{{path: "version",
			msg: fmt.Sprintf("unsupported version %d; this release reads version 1", f.Version)}}); ve != nil {
			return nil, ve
		}
	}
	f.SetDefaults()
	if dir != "" {
		f.resolvePaths(dir)
	}
	issues := d.issues
	if !d.failed[""] { // the document as a whole did not decode: its parts are not worth checking
		issues = append(issues, f.validate()...)
	}
	if ve := f.problems(issues); ve != nil {
		return nil, ve
	}
	return f, nil
}

// parseYAML parses exactly one YAML document (an empty input is an empty document). A syntax
// error carries the line and column of the character where the input stops being valid YAML.
func parseYAML(data []byte) (*yaml.Node, *Problem) {
	docs, err := yamlpos.Parse(data)
	if err != nil {
		var pe *yamlpos.Error
		if errors.As(err, &pe) {
			return nil, &Problem{Line: pe.Line, Column: pe.Column, Msg: "invalid YAML: " + pe.Msg}
		}
		return nil, &Problem{Msg: "invalid YAML"}
	}
	switch len(docs) {
	case 0:
		return &yaml.Node{}, nil
	case 1:
		return docs[0], nil
	}
	extra := docs[1]
	return nil, &Problem{Line: extra.Line, Column: extra.Column, Msg: "only one YAML document is allowed"}
}

// has reports whether path is present in the source (false for a File built in Go).
func (s *source) has(path string) bool {
	if s == nil {
		return false
	}
	_, ok := lookup(s.root, path)
	return ok
}

// problems resolves issues to positioned problems, leaving out validation findings about values
// that already failed to decode.
func (f *File) problems(issues []issue) *ValidationError {
	var ps []Problem
	for _, is := range issues {
		if is.node == nil && f.src != nil && f.src.underFailed(is.path) {
			continue
		}
		p := Problem{Path: is.path, Msg: is.msg}
		n := is.node
		if f.src != nil {
			p.File = f.src.filename
			if n == nil {
				n, _ = lookup(f.src.root, is.path)
			}
		}
		if n != nil {
			p.Line, p.Column = n.Line, n.Column
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: sortProblems(ps)}
}

// underFailed reports whether a validation finding at path is likely a consequence of a value
// that failed to decode: the value at path, one it is inside of, or one inside it.
func (s *source) underFailed(path string) bool {
	for f := range s.failed {
		switch {
		case path == "" || f == "" || f == path:
			return true
		case strings.HasPrefix(path, f) && (path[len(f)] == '.' || path[len(f)] == '['):
			return true
		case strings.HasPrefix(f, path) && (f[len(path)] == '.' || f[len(path)] == '['):
			return true
		}
	}
	return false
}

// Default values.
const (
	DefaultSessionDuration       = 24 * time.Hour
	DefaultKeyRotationInterval   = 1008 * time.Hour
	DefaultKeyOverlap            = 168 * time.Hour
	DefaultPublicTLS             = ":443"
	DefaultPublicPlain           = ":80"
	DefaultInternal              = "127.0.0.1:9090"
	DefaultSQLiteDSN             = "file:gatehouse.db"
	DefaultServiceTokenDuration  = 8760 * time.Hour
	DefaultMaxRequestHeaderBytes = 64 * KiB
	DefaultMaxRequestBodyBytes   = 100 * MiB
	DefaultUpstreamTimeout       = 60 * time.Second
	DefaultIdleTimeout           = 2 * time.Minute
	DefaultQueryTimeout          = 5 * time.Second
	DefaultHTTP2MaxStreams       = 100
	DefaultHTTP2StreamsPerSecond = 500
	DefaultHTTP2StreamBurst      = 1000
	DefaultHTTP2ResetsPerSecond  = 10
	DefaultHTTP2ResetBurst       = 100
)

// SetDefaults fills in every unset field that has a default (see the package documentation).
// It is idempotent. Parse calls it; call it on a File built in Go before Validate.
func (f *File) SetDefaults() {
	o := &f.Organization
	o.AuthDomain = strings.ToLower(o.AuthDomain)
	if o.Name == "" {
		o.Name = "Gatehouse"
	}
	if o.SessionDuration == 0 {
		o.SessionDuration = store.Duration(DefaultSessionDuration)
	}
	if o.Wire == "" {
		o.Wire = store.WireGatehouse
	}
	if o.KeyRotationInterval == 0 {
		o.KeyRotationInterval = store.Duration(DefaultKeyRotationInterval)
	}
	if o.KeyOverlap == 0 {
		o.KeyOverlap = store.Duration(DefaultKeyOverlap)
	}

	if f.Listen.Public == "" {
		f.Listen.Public = DefaultPublicPlain
		if f.TLS.Enabled() {
			f.Listen.Public = DefaultPublicTLS
		}
	}
	if f.Listen.Internal == "" {
		f.Listen.Internal = DefaultInternal
	}
	if f.Storage.Driver == "" {
		f.Storage.Driver = DriverSQLite
	}
	if f.Storage.Driver == DriverSQLite && f.Storage.DSN.IsZero() {
		f.Storage.DSN = Secret{Value: DefaultSQLiteDSN}
	}
	if f.Storage.QueryTimeout == 0 {
		f.Storage.QueryTimeout = store.Duration(DefaultQueryTimeout)
	}

	for i := range f.IdentityProviders {
		defaultIdP(&f.IdentityProviders[i])
	}
	for i := range f.Applications {
		defaultApp(&f.Applications[i])
	}
	for i := range f.ServiceTokens {
		t := &f.ServiceTokens[i]
		defaultToken(&t.Name, &t.Duration, t.ID)
	}

	l := &f.Limits
	if l.MaxRequestHeaderBytes == 0 {
		l.MaxRequestHeaderBytes = DefaultMaxRequestHeaderBytes
	}
	if l.MaxRequestBodyBytes == 0 {
		l.MaxRequestBodyBytes = DefaultMaxRequestBodyBytes
	}
	if l.UpstreamTimeout == 0 {
		l.UpstreamTimeout = store.Duration(DefaultUpstreamTimeout)
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = store.Duration(DefaultIdleTimeout)
	}
	for _, d := range []struct {
		v   *int
		def int
	}{
		{&l.HTTP2MaxConcurrentStreams, DefaultHTTP2MaxStreams},
		{&l.HTTP2StreamsPerSecond, DefaultHTTP2StreamsPerSecond}, {&l.HTTP2StreamBurst, DefaultHTTP2StreamBurst},
		{&l.HTTP2ResetsPerSecond, DefaultHTTP2ResetsPerSecond}, {&l.HTTP2ResetBurst, DefaultHTTP2ResetBurst},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	f.Gateway.setDefaults()
	f.DLP.setDefaults()
	f.MCP.setDefaults()
	if f.Log.Level == "" {
		f.Log.Level = "info"
	}
	if f.Log.Format == "" {
		f.Log.Format = "json"
	}
}
