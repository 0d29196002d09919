package mcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/configfield"
	"github.com/gatehouse/gatehouse/internal/netguard"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Version is what Gatehouse calls itself towards upstream servers and clients.
const implementationName = "gatehouse-mcp-portal"

// maxIdlePerUpstream is how many idle connections to one upstream host are kept for reuse:
// concurrent tool calls each hold one while they run.
const maxIdlePerUpstream = 64

// Upstream timeouts.
const (
	connectTimeout = 15 * time.Second
	// DefaultCallTimeout bounds one upstream request (a tool call, a list).
	DefaultCallTimeout = 60 * time.Second
)

// Upstreams keeps one client session per registered server and credential — the
// administrator's, or for oauth servers used on behalf of users, each user's — connected on
// first use, and reconnects a session that failed. A client's own token never reaches an
// upstream: the only Authorization an upstream sees is the one configured for it or the
// grant Gatehouse holds at its authorization server (Vault).
type Upstreams struct {
	client *http.Client
	vault  *Vault
	mu     sync.Mutex
	conns  map[connKey]*upstreamConn
}

// connKey is a session's server and the user whose grant it uses ("" for the
// administrator's credential).
type connKey struct{ server, user string }

// maxConns bounds the sessions kept; beyond it an arbitrary user's session is closed.
const maxConns = 2048

type upstreamConn struct {
	key       string // URL, transport and credential the session was made with
	session   *sdk.ClientSession
	transport string
	// endpoint and http are where and how the session's transport sends its requests (with
	// the session's credential): the portal's own tools/call relay (callToolRaw) uses them.
	endpoint string
	http     *http.Client
	// raw is set when callToolRaw may relay a tools/call on the session: Streamable HTTP in
	// a revision that initialises a session (2025-03-26 to 2025-11-25).
	raw bool
}

// NewUpstreams returns a pool dialling through client, or through the SSRF-safe dialer
// (netguard) when client is nil.
func NewUpstreams(client *http.Client) *Upstreams {
	if client == nil {
		client = netguard.NewClient(DefaultCallTimeout)
		client.Timeout = 0 // streams may outlive one request timeout; calls carry their own deadline
		if t, ok := client.Transport.(*http.Transport); ok {
			t.MaxIdleConnsPerHost = maxIdlePerUpstream
		}
	} else if client.Transport == nil {
		// A client on the default transport (tests, tools) gets a pool of its own: the
		// default keeps two idle connections per host, and concurrent calls to one upstream
		// would dial a new connection for most of them.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = maxIdlePerUpstream
		c := *client
		c.Transport = t
		client = &c
	}
	return &Upstreams{client: client, conns: map[connKey]*upstreamConn{}}
}

// UseVault sets the grants of oauth servers. Without one, oauth servers cannot be reached.
func (u *Upstreams) UseVault(v *Vault) { u.vault = v }

// Vault returns the grants of oauth servers (nil when none was set).
func (u *Upstreams) Vault() *Vault { return u.vault }

// credential resolves a server's bearer credential ("" for unauthenticated servers).
func credential(srv *store.MCPServer) (string, error) {
	if srv.AuthType != store.MCPAuthBearer {
		return "", nil
	}
	ref, err := configfield.ParseSecretRef(srv.AuthCredentials)
	if err != nil {
		return "", fmt.Errorf("mcp server %q: auth_credentials: %w", srv.ID, err)
	}
	tok, err := ref.Resolve()
	if err != nil {
		return "", fmt.Errorf("mcp server %q: auth_credentials: %w", srv.ID, err)
	}
	if tok == "" {
		return "", fmt.Errorf("mcp server %q: auth_credentials is empty", srv.ID)
	}
	return tok, nil
}

// Session returns the server's session with the administrator's credential (SessionAs).
func (u *Upstreams) Session(ctx context.Context, srv *store.MCPServer) (*sdk.ClientSession, string, error) {
	c, err := u.conn(ctx, srv, "")
	if err != nil {
		return nil, "", err
	}
	return c.session, c.transport, nil
}

// SessionAs returns the server's session with the credential of user (conn).
func (u *Upstreams) SessionAs(ctx context.Context, srv *store.MCPServer, user string) (*sdk.ClientSession, string, error) {
	c, err := u.conn(ctx, srv, user)
	if err != nil {
		return nil, "", err
	}
	return c.session, c.transport, nil
}

// conn returns the server's connection (its session and how the session reaches the server)
// with the credential of user — "" for the administrator's (a bearer token, or the
// administrator's grant of an oauth server), else the user's own grant of an oauth server —
// connecting when there is none or the server's configuration changed. Every upstream request
// of the portal gets its connection, and with it its credential, here. The transport is the
// configured one or detected (DetectTransports). For an oauth server without a usable grant,
// the error wraps ErrAuthorizationRequired.
func (u *Upstreams) conn(ctx context.Context, srv *store.MCPServer, user string) (*upstreamConn, error) {
	var tok string
	var tokenFn func(context.Context) (string, error)
	var err error
	switch {
	case srv.AuthType == store.MCPAuthOAuth:
		if u.vault == nil {
			return nil, fmt.Errorf("mcp server %q: %w: upstream OAuth is not available in this process", srv.ID, ErrAuthorizationRequired)
		}
		// The grant is checked (and refreshed) now, so that a missing one is told apart from
		// a failed connection; each request of the session then reads the current token.
		if _, err := u.vault.Token(ctx, srv.ID, user, false); err != nil {
			return nil, fmt.Errorf("mcp server %q: %w", srv.ID, err)
		}
		vault, id := u.vault, srv.ID
		tokenFn = func(ctx context.Context) (string, error) { return vault.Token(ctx, id, user, false) }
		tok = "oauth"
	case user != "":
		return nil, fmt.Errorf("mcp server %q: only oauth servers are used with a user's own credential", srv.ID)
	default:
		if tok, err = credential(srv); err != nil {
			return nil, err
		}
	}
	ck := connKey{srv.ID, user}
	key := srv.URL + "\x00" + srv.Transport + "\x00" + tok
	u.mu.Lock()
	c := u.conns[ck]
	u.mu.Unlock()
	if c != nil && c.key == key {
		return c, nil
	}
	c, err = u.connect(ctx, srv, &credentialTransport{base: u.client.Transport, token: tok, tokenFn: tokenFn})
	if err != nil && tokenFn != nil && httpStatusOf(err) == http.StatusUnauthorized {
		// The server refused the grant's token before it expired (revoked, or for another
		// resource): refresh it once; a grant that cannot be refreshed must be authorised again.
		if _, terr := u.vault.Token(ctx, srv.ID, user, true); terr != nil {
			return nil, fmt.Errorf("mcp server %q: %w", srv.ID, terr)
		}
		c, err = u.connect(ctx, srv, &credentialTransport{base: u.client.Transport, token: tok, tokenFn: tokenFn})
		if err != nil && httpStatusOf(err) == http.StatusUnauthorized {
			_ = u.vault.Disconnect(context.WithoutCancel(ctx), srv.ID, user)
			return nil, fmt.Errorf("mcp server %q: %w: the server refused a fresh token: %w", srv.ID, ErrAuthorizationRequired, err)
		}
	}
	if err != nil {
		return nil, err
	}
	c.key = key
	u.mu.Lock()
	if old := u.conns[ck]; old != nil && old.key == key {
		// Another caller connected meanwhile: keep theirs.
		u.mu.Unlock()
		_ = c.session.Close()
		return old, nil
	} else if old != nil {
		go old.session.Close()
	}
	if len(u.conns) >= maxConns {
		for k, old := range u.conns {
			if k.user != "" {
				delete(u.conns, k)
				go old.session.Close()
				break
			}
		}
	}
	u.conns[ck] = c
	u.mu.Unlock()
	return c, nil
}

// Forget drops a server's session after it failed, so the next use reconnects.
func (u *Upstreams) Forget(serverID string, cs *sdk.ClientSession) {
	var found bool
	u.mu.Lock()
	for k, c := range u.conns {
		if k.server == serverID && c.session == cs {
			delete(u.conns, k)
			found = true
			break
		}
	}
	u.mu.Unlock()
	if found {
		go cs.Close()
	}
}

// ForgetUser drops a user's session with a server (the user disconnected).
func (u *Upstreams) ForgetUser(serverID, user string) {
	u.mu.Lock()
	c := u.conns[connKey{serverID, user}]
	delete(u.conns, connKey{serverID, user})
	u.mu.Unlock()
	if c != nil {
		go c.session.Close()
	}
}

// Close closes every session.
func (u *Upstreams) Close() {
	u.mu.Lock()
	conns := u.conns
	u.conns = map[connKey]*upstreamConn{}
	u.mu.Unlock()
	for _, c := range conns {
		_ = c.session.Close()
	}
}

// Endpoint is one way to reach a server: a transport at a URL.
type Endpoint struct {
	Transport string
	URL       string
}

// DetectTransports returns the endpoints to try for a server's URL, in order, as Cloudflare's
// portal does: a URL ending in /mcp is Streamable HTTP, one ending in /sse the legacy HTTP+SSE
// transport; any other URL tries Streamable HTTP and SSE at the URL, then Streamable HTTP at
// URL/mcp and SSE at URL/sse. The next is tried only when the previous answered 404, 405 or
// 406 (nothing there, or not that transport); a configured transport is used alone.
func DetectTransports(rawURL, configured string) []Endpoint {
	if configured != "" {
		return []Endpoint{{configured, rawURL}}
	}
	path, query := rawURL, ""
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path, query = path[:i], path[i:]
	}
	path = strings.TrimSuffix(path, "/")
	switch {
	case strings.HasSuffix(path, "/mcp"):
		return []Endpoint{{store.MCPTransportStreamable, rawURL}}
	case strings.HasSuffix(path, "/sse"):
		return []Endpoint{{store.MCPTransportSSE, rawURL}}
	}
	return []Endpoint{{store.MCPTransportStreamable, rawURL}, {store.MCPTransportSSE, rawURL},
		{store.MCPTransportStreamable, path + "/mcp" + query}, {store.MCPTransportSSE, path + "/sse" + query}}
}

// codeRejectedByTransport is the Go SDK's JSON-RPC code for a request its transport could not
// deliver (an HTTP error status, a refused connection).
const codeRejectedByTransport = -32005

// httpStatusOf finds the HTTP error status an upstream answered with in an SDK error, whose
// text ends in the status's text ("...: Not Found"); 0 when there is none.
func httpStatusOf(err error) int {
	msg := err.Error()
	for code := 400; code < 600; code++ {
		if t := http.StatusText(code); t != "" && (strings.HasSuffix(msg, ": "+t) || strings.Contains(msg, ": "+t+"\n") || strings.Contains(msg, ": "+t+")")) {
			return code
		}
	}
	return 0
}

// connect opens a client session to srv with credential ct.
func (u *Upstreams) connect(ctx context.Context, srv *store.MCPServer, ct *credentialTransport) (*upstreamConn, error) {
	hc := &http.Client{Transport: ct, CheckRedirect: u.client.CheckRedirect}
	client := sdk.NewClient(&sdk.Implementation{Name: implementationName, Version: "1"}, nil)
	var errs []error
	for _, ep := range DetectTransports(srv.URL, srv.Transport) {
		transport := ep.Transport
		if len(errs) > 0 {
			switch httpStatusOf(errs[len(errs)-1]) {
			case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotAcceptable:
			default:
				// Something answered and it was not "not here": trying elsewhere would hide why.
				return nil, fmt.Errorf("mcp server %q: connect: %w", srv.ID, errors.Join(errs...))
			}
		}
		var t sdk.Transport
		switch transport {
		case store.MCPTransportSSE:
			t = &sdk.SSEClientTransport{Endpoint: ep.URL, HTTPClient: hc}
		default:
			t = &sdk.StreamableClientTransport{Endpoint: ep.URL, HTTPClient: hc, MaxRetries: 1, DisableStandaloneSSE: true}
		}
		// The session's streams (the legacy transport's event stream) live in the context the
		// session is connected with: it outlives this call and ends when the session closes.
		// It carries none of the caller's values either: a portal request's context holds the
		// protocol revision its client negotiated, which the SDK's client would send upstream
		// as its own.
		cctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(connectTimeout, cancel)
		cs, err := client.Connect(cctx, t, nil)
		if timer.Stop() && err == nil {
			go func() {
				_ = cs.Wait()
				cancel()
			}()
			c := &upstreamConn{session: cs, transport: transport, endpoint: ep.URL, http: hc}
			if ir := cs.InitializeResult(); transport == store.MCPTransportStreamable && ir != nil {
				switch ir.ProtocolVersion {
				case "2025-03-26", "2025-06-18", "2025-11-25":
					c.raw = true
				}
			}
			return c, nil
		}
		cancel()
		if err == nil {
			_ = cs.Close()
			err = context.DeadlineExceeded
		}
		errs = append(errs, fmt.Errorf("%s at %s: %w", transport, ep.URL, err))
	}
	return nil, fmt.Errorf("mcp server %q: connect: %w", srv.ID, errors.Join(errs...))
}

// credentialTransport sets the upstream's own Authorization on every request, and nothing
// of the client's: token, or when tokenFn is set the grant's current access token.
type credentialTransport struct {
	base    http.RoundTripper
	token   string
	tokenFn func(context.Context) (string, error)
}

func (t *credentialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok := t.token
	if t.tokenFn != nil {
		var err error
		if tok, err = t.tokenFn(r.Context()); err != nil {
			if r.Body != nil {
				_ = r.Body.Close()
			}
			return nil, err
		}
	}
	r = r.Clone(r.Context())
	r.Header.Del("Authorization")
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
