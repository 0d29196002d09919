package store

import (
	"context"
	"encoding/json"
	"time"
)

// MCP server auth types (Cloudflare's auth_type).
const (
	MCPAuthUnauthenticated = "unauthenticated"
	MCPAuthBearer          = "bearer"
	MCPAuthOAuth           = "oauth"
)

// MCP server transports. An empty Transport is detected from the URL (package mcp).
const (
	MCPTransportStreamable = "streamable_http"
	MCPTransportSSE        = "sse"
)

// MCP server review statuses. A server is exposed through portals only when approved.
const (
	MCPReviewApproved   = "approved"
	MCPReviewUnapproved = "unapproved"
	MCPReviewInReview   = "in_review"
	MCPReviewUnreviewed = "unreviewed"
)

// MCPServer is an MCP server registered with Gatehouse (config mcp_servers), with Cloudflare's
// field names where it has them.
type MCPServer struct {
	// ID is the server's id and the prefix of its tools in portals ({id}_{tool}): lower-case
	// letters, digits and hyphens, no underscores.
	ID string `json:"id" yaml:"id"`
	// ManagedBy is where the object comes from (a Gatehouse extension; Cloudflare has no
	// equivalent): "file" for an object the configuration file declares, which only the file
	// changes, or "api" for one created through the admin API (or console), which the file
	// never touches. Read-only in the API; the file cannot set it. See ManagedByFile.
	ManagedBy string `json:"managed_by,omitempty" yaml:"-"`
	Name      string `json:"name" yaml:"name"`
	// URL is the server's HTTP(S) endpoint.
	URL string `json:"url" yaml:"url"`
	// Transport is streamable_http or sse; empty detects it (see package mcp).
	Transport string `json:"transport,omitempty" yaml:"transport,omitempty"`
	// AuthType is unauthenticated (default), bearer (AuthCredentials is sent as a bearer
	// token) or oauth.
	AuthType string `json:"auth_type,omitempty" yaml:"auth_type,omitempty"`
	// AuthCredentials is the bearer token: a secret reference (a string, or a mapping with
	// one of value, file or env), resolved when it is used.
	AuthCredentials any `json:"auth_credentials,omitempty" yaml:"auth_credentials,omitempty"`
	// OAuth configures Gatehouse as the OAuth client of the server's authorization server
	// (auth_type oauth); without it Gatehouse registers itself dynamically (RFC 7591).
	OAuth *MCPServerOAuth `json:"oauth,omitempty" yaml:"oauth,omitempty"`
	// ReviewStatus is approved, unapproved, in_review or unreviewed (default).
	ReviewStatus string `json:"review_status,omitempty" yaml:"review_status,omitempty"`
	// HoldChangedTools keeps an approved server's tools from portals when their definitions
	// (names, descriptions, schemas) differ from the approved ones, until they are approved
	// again (gatehouse mcp servers approve-tools). Otherwise a change is only flagged.
	HoldChangedTools bool `json:"hold_changed_tools,omitempty" yaml:"hold_changed_tools,omitempty"`
}

// MCPServerOAuth is how Gatehouse is a client of an oauth server's authorization server, with
// the field names of identity providers' config.
type MCPServerOAuth struct {
	// ClientID and ClientSecret are a client registered with the authorization server by hand
	// (for servers without dynamic client registration); the secret is a secret reference and
	// may be left out for a public client.
	ClientID     string `json:"client_id,omitempty" yaml:"client_id,omitempty"`
	ClientSecret any    `json:"client_secret,omitempty" yaml:"client_secret,omitempty"`
	// Scopes are requested at authorization; by default those the server's 401 challenge or
	// its protected resource metadata name.
	Scopes []string `json:"scopes,omitempty" yaml:"scopes,omitempty"`
}

// MCPPortal is one governed MCP endpoint aggregating servers (config mcp_portals). Portals
// share the id space of applications: each is the Access application of its endpoint.
type MCPPortal struct {
	ID string `json:"id" yaml:"id"`
	// ManagedBy is where the object comes from (a Gatehouse extension; Cloudflare has no
	// equivalent): "file" for an object the configuration file declares, which only the file
	// changes, or "api" for one created through the admin API (or console), which the file
	// never touches. Read-only in the API; the file cannot set it. See ManagedByFile.
	ManagedBy string `json:"managed_by,omitempty" yaml:"-"`
	Name      string `json:"name" yaml:"name"`
	// Servers are the registered servers the portal aggregates, in order.
	Servers []MCPPortalServer `json:"servers" yaml:"servers"`
	// Policies decide who may use the portal, as on applications.
	Policies []PolicyLink `json:"policies,omitempty" yaml:"policies,omitempty"`
	// AllowedIdPs and SessionDuration are as on applications.
	AllowedIdPs     []string `json:"allowed_idps,omitempty" yaml:"allowed_idps,omitempty"`
	SessionDuration Duration `json:"session_duration,omitempty" yaml:"session_duration,omitempty"`
	// DLP scans tool arguments and results (a Gatehouse extension).
	DLP *MCPPortalDLP `json:"dlp,omitempty" yaml:"dlp,omitempty"`
	// PromptInjection is what a tool result the prompt-injection classifier flags gets:
	// block (default: the call fails with an MCP error), log or off (a Gatehouse extension).
	PromptInjection string `json:"prompt_injection,omitempty" yaml:"prompt_injection,omitempty"`
	// OAuth configures how MCP clients obtain tokens for the portal (Cloudflare's managed
	// OAuth settings); nil uses the defaults.
	OAuth *MCPPortalOAuth `json:"oauth,omitempty" yaml:"oauth,omitempty"`
}

// MCPPortalOAuth is the portal's authorization server settings, with Cloudflare's managed
// OAuth field names.
type MCPPortalOAuth struct {
	// DynamicClientRegistration says which redirect URIs clients may register.
	DynamicClientRegistration *MCPDynamicClientRegistration `json:"dynamic_client_registration,omitempty" yaml:"dynamic_client_registration,omitempty"`
	// Grant bounds the tokens: access_token_lifetime (default 15m) and session_duration, how
	// long a grant may be refreshed (default 168h).
	Grant *MCPGrant `json:"grant,omitempty" yaml:"grant,omitempty"`
	// ClientIDMetadataDocuments configures clients identified by an https URL whose document
	// describes them (a Gatehouse extension; they are accepted from public addresses).
	ClientIDMetadataDocuments *MCPClientIDMetadataDocuments `json:"client_id_metadata_documents,omitempty" yaml:"client_id_metadata_documents,omitempty"`
}

// MCPClientIDMetadataDocuments configures client ID metadata documents.
type MCPClientIDMetadataDocuments struct {
	// Disabled refuses URL client ids (clients must register).
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`
	// AllowedNetworks are CIDRs besides public addresses that documents may be fetched from
	// (in-house agents); link-local and metadata addresses are refused whatever they say.
	AllowedNetworks []string `json:"allowed_networks,omitempty" yaml:"allowed_networks,omitempty"`
}

// MCPDynamicClientRegistration is the redirect URI policy of client registration. By default
// any http://localhost and loopback (127.0.0.1, [::1]) redirect URI is allowed, as desktop
// MCP clients use, and nothing else.
type MCPDynamicClientRegistration struct {
	// AllowAnyOnLocalhost and AllowAnyOnLoopback allow http://localhost:<any port>/... and
	// http://127.0.0.1 or [::1]; nil means true.
	AllowAnyOnLocalhost *bool `json:"allow_any_on_localhost,omitempty" yaml:"allow_any_on_localhost,omitempty"`
	AllowAnyOnLoopback  *bool `json:"allow_any_on_loopback,omitempty" yaml:"allow_any_on_loopback,omitempty"`
	// AllowedURIs are further redirect URIs: exact, or an https:// prefix ending in /* (any
	// path below it); custom schemes (cursor://..., vscode://...) exact only.
	AllowedURIs []string `json:"allowed_uris,omitempty" yaml:"allowed_uris,omitempty"`
}

// MCPGrant bounds a portal's tokens.
type MCPGrant struct {
	AccessTokenLifetime Duration `json:"access_token_lifetime,omitempty" yaml:"access_token_lifetime,omitempty"`
	SessionDuration     Duration `json:"session_duration,omitempty" yaml:"session_duration,omitempty"`
}

// Actions of a portal's DLP and prompt-injection checks.
const (
	MCPActionBlock = "block"
	MCPActionLog   = "log"
	MCPActionOff   = "off"
)

// MCPPortalServer is a server's entry in a portal, with Cloudflare's per-server settings.
type MCPPortalServer struct {
	ServerID string `json:"server_id" yaml:"server_id"`
	// OnBehalf: each user authorises the upstream server themselves (oauth servers) instead
	// of the administrator's credential being used.
	OnBehalf bool `json:"on_behalf,omitempty" yaml:"on_behalf,omitempty"`
	// DefaultDisabled turns the server's tools off unless UpdatedTools enables them
	// (allow-list mode).
	DefaultDisabled bool             `json:"default_disabled,omitempty" yaml:"default_disabled,omitempty"`
	UpdatedTools    []MCPToolSetting `json:"updated_tools,omitempty" yaml:"updated_tools,omitempty"`
	// UpdatedPrompts turns the server's prompts on or off, as UpdatedTools its tools
	// (DefaultDisabled applies to both). Resources are shown with their server.
	UpdatedPrompts []MCPToolSetting `json:"updated_prompts,omitempty" yaml:"updated_prompts,omitempty"`
	// Policies further restrict who sees and calls this server's tools through the portal (a
	// user must pass the portal's and these).
	Policies []PolicyLink `json:"policies,omitempty" yaml:"policies,omitempty"`
}

// MCPToolSetting turns one upstream tool (or prompt) on or off in a portal, may rename it and
// override its description (Cloudflare's portal-level alias and description), and may
// restrict it to the users its policies allow.
type MCPToolSetting struct {
	// Name is the tool as its server names it.
	Name    string `json:"name" yaml:"name"`
	Enabled bool   `json:"enabled" yaml:"enabled"`
	// Alias replaces Name in the name the portal shows: {server_id}_{alias}. 1-40 letters,
	// digits, '_' and '-', starting and ending with a letter or digit, no two separators in
	// a row (^[a-zA-Z0-9]+([_-][a-zA-Z0-9]+)*$).
	Alias string `json:"alias,omitempty" yaml:"alias,omitempty"`
	// Description replaces the server's description of the tool.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Policies restrict the tool further (a Gatehouse extension).
	Policies []PolicyLink `json:"policies,omitempty" yaml:"policies,omitempty"`
}

// MCPPortalDLP chooses the DLP profiles scanning a portal's tool traffic.
type MCPPortalDLP struct {
	// Profiles are DLP profile ids (dlp.profiles).
	Profiles []string `json:"profiles" yaml:"profiles"`
	// Action is block (default: the call fails with an MCP error) or log.
	Action string `json:"action,omitempty" yaml:"action,omitempty"`
}

// MCP server sync statuses (Cloudflare's).
const (
	MCPSyncReady        = "ready"
	MCPSyncFailed       = "error"
	MCPSyncRequired     = "sync_required"
	MCPSyncWaiting      = "waiting"
	MCPSyncToolsChanged = "tools_changed"
)

// MCPServerState is what the last sync of a server found, shared by every replica.
type MCPServerState struct {
	ServerID string `json:"server_id"`
	// Status is ready, error, sync_required, waiting or tools_changed.
	Status string `json:"status"`
	// Error describes a failed sync (Cloudflare's error_details).
	Error *MCPSyncError `json:"error_details,omitempty"`
	// Transport is the transport the sync used (detected or configured).
	Transport string `json:"transport,omitempty"`
	// ProtocolVersion is the revision the upstream negotiated.
	ProtocolVersion string `json:"protocol_version,omitempty"`
	// Tools, Prompts and Resources are the upstream's lists as JSON arrays of the MCP
	// objects, exactly as the server sent them.
	Tools     json.RawMessage `json:"tools,omitempty"`
	Prompts   json.RawMessage `json:"prompts,omitempty"`
	Resources json.RawMessage `json:"resources,omitempty"`
	// ToolsHash is the SHA-256 (hex) of the canonical tool definitions last synced;
	// ApprovedToolsHash the one an administrator approved ("" until the first approval,
	// which the first sync of an approved server records).
	ToolsHash         string    `json:"tools_hash,omitempty"`
	ApprovedToolsHash string    `json:"approved_tools_hash,omitempty"`
	SyncedAt          time.Time `json:"synced_at,omitzero"`
	UpdatedAt         time.Time `json:"updated_at,omitzero"`
}

// MCPSyncErrorAuthorizationRequired is the MCPSyncError type of a sync of an oauth server
// without the administrator's grant (a Gatehouse extension of Cloudflare's upstream_error and
// unreachable).
const MCPSyncErrorAuthorizationRequired = "authorization_required"

// MCPSyncError is why a sync failed.
type MCPSyncError struct {
	Message string `json:"message"`
	// Type is upstream_error, unreachable or authorization_required.
	Type           string `json:"type"`
	HTTPStatusCode int    `json:"http_status_code,omitempty"`
	MCPErrorCode   int64  `json:"mcp_error_code,omitempty"`
}

// MCPCallLog is one request through a portal: a tool call, a prompt or resource read, or a
// list refused; the arguments and results themselves are never stored.
type MCPCallLog struct {
	// ID is assigned by AppendMCPCallLogs, increasing, never reused (the listing cursor).
	ID        int64     `json:"id"`
	Time      time.Time `json:"ts"`
	RequestID string    `json:"request_id"`
	PortalID  string    `json:"portal_id"`
	ServerID  string    `json:"server_id"`
	// Method is the MCP method (tools/call, prompts/get, resources/read); Capability the
	// tool, prompt or resource as the client named it.
	Method     string `json:"method"`
	Capability string `json:"capability"`
	// UpstreamCapability is the tool or prompt as its server names it (Capability is
	// {server_id}_{alias or name}); "" for resources and for requests refused before they
	// were routed to a server.
	UpstreamCapability string `json:"upstream_capability,omitempty"`
	UserID             string `json:"user_id"`
	UserEmail          string `json:"user_email"`
	// ClientID is the OAuth client or service token the request came with.
	ClientID string `json:"client_id"`
	// Decision is allow, block or error; Reason why (a stable reason code).
	Decision   string   `json:"decision"`
	Reason     string   `json:"reason"`
	DurationMS float64  `json:"duration_ms"`
	BytesIn    int64    `json:"bytes_in"`
	BytesOut   int64    `json:"bytes_out"`
	DLPEntries []string `json:"dlp_entries"`
	// Topics are the classifier's findings on results (intent_jailbreak).
	Topics []string `json:"topics"`
}

// MCPCallLogQuery filters ListMCPCallLogs; zero fields do not filter; strings match exactly.
type MCPCallLogQuery struct {
	PortalID  string
	ServerID  string
	UserEmail string
	Decision  string
	// Since is inclusive, Until exclusive.
	Since, Until time.Time
	// Before is the cursor: only entries whose ID is below it (0: from the newest).
	Before int64
	// Limit: default 100, at most 1000 (more is 1000).
	Limit int
}

// Limits of MCPCallLogQuery.Limit.
const (
	DefaultMCPCallLogLimit = 100
	MaxMCPCallLogLimit     = 1000
)

// MCP is the store capability of the MCP server portal. Optional (found by type assertion),
// like PromptLogs; everything in the Store doc comment holds for it.
type MCP interface {
	// GetMCPServerState returns a server's state; ErrNotFound when it was never synced.
	GetMCPServerState(ctx context.Context, serverID string) (*MCPServerState, error)
	// ListMCPServerStates returns every state, by server id (never nil).
	ListMCPServerStates(ctx context.Context) ([]MCPServerState, error)
	// UpdateMCPServerState runs update on the server's state inside a transaction (a zero
	// state with ServerID set when there is none) and stores the result, setting UpdatedAt.
	// Concurrent updates of one server, from any process, run one after the other, none lost;
	// update may run more than once (see Store). Tools, Prompts and Resources must be JSON (an
	// empty one is stored as none and read back nil); update may not change ServerID.
	UpdateMCPServerState(ctx context.Context, serverID string, update func(*MCPServerState) error) (*MCPServerState, error)
	// DeleteMCPServerState forgets a server's state (the server was removed); no error when
	// there was none.
	DeleteMCPServerState(ctx context.Context, serverID string) error
	// AppendMCPCallLogs stores a batch in one transaction, all or none, setting IDs (increasing
	// in batch order) and Times (UTC, truncated to the microsecond). A zero Time, negative
	// BytesIn or BytesOut, or a negative or non-finite DurationMS is an error wrapping none of
	// the sentinels, and nothing of the batch is stored.
	AppendMCPCallLogs(ctx context.Context, logs []MCPCallLog) error
	// ListMCPCallLogs returns the entries q selects, newest first; lists are never nil.
	ListMCPCallLogs(ctx context.Context, q MCPCallLogQuery) ([]MCPCallLog, error)
	// DeleteMCPCallLogsBefore deletes entries older than before and returns how many.
	DeleteMCPCallLogsBefore(ctx context.Context, before time.Time) (int64, error)
}

// MCPClient is an OAuth client of the MCP portals' authorization server, registered
// dynamically (RFC 7591) by an MCP client. Clients are public (PKCE, no secret): the
// registration holds what the authorization endpoint checks.
type MCPClient struct {
	// ClientID is assigned at registration: random, URL-safe.
	ClientID string `json:"client_id"`
	// ClientName and ClientURI are the client's own description (shown, never trusted).
	ClientName string `json:"client_name,omitempty"`
	ClientURI  string `json:"client_uri,omitempty"`
	// RedirectURIs are matched exactly at authorization.
	RedirectURIs []string  `json:"redirect_uris"`
	CreatedAt    time.Time `json:"created_at"`
	// SoftwareID and SoftwareVersion are the client's (RFC 7591), for the administrator.
	SoftwareID      string `json:"software_id,omitempty"`
	SoftwareVersion string `json:"software_version,omitempty"`
}

// MCPClients stores the dynamically registered OAuth clients of the MCP portals. Optional
// (found by type assertion), like MCP.
type MCPClients interface {
	// CreateMCPClient stores a new client; ErrAlreadyExists when its ClientID is taken.
	// CreatedAt is truncated to the microsecond (UTC); an empty ClientID or no RedirectURIs
	// is an error wrapping none of the sentinels.
	CreateMCPClient(ctx context.Context, c *MCPClient) error
	// GetMCPClient returns a client; ErrNotFound when there is none.
	GetMCPClient(ctx context.Context, clientID string) (*MCPClient, error)
	// DeleteMCPClientsBefore deletes clients registered before before and returns how many
	// (clients that register and never come back are forgotten).
	DeleteMCPClientsBefore(ctx context.Context, before time.Time) (int64, error)
}
