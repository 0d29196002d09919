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

// Upstreams keeps one client session per registered server and credential, connected on
// first use with the administrator's credential, and reconnects a session that failed. A
// client's own token never reaches an upstream: the only Authorization an upstream sees is
// the one configured for it.
type Upstreams struct {
	client *http.Client
	mu     sync.Mutex
	conns  map[string]*upstreamConn // by server id
}

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
	return &Upstreams{client: client, conns: map[string]*upstreamConn{}}
}

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

// Session returns the server's session, connecting when there is none or the server's
// configuration changed. The transport is the configured one or detected (DetectTransports).
func (u *Upstreams) Session(ctx context.Context, srv *store.MCPServer) (*sdk.ClientSession, string, error) {
	c, err := u.conn(ctx, srv)
	if err != nil {
		return nil, "", err
	}
	return c.session, c.transport, nil
}

// conn returns the server's connection (its session and how the session reaches the server),
// connecting when there is none or the server's configuration changed. Every upstream request
// of the portal gets its connection, and with it its credential, here.
func (u *Upstreams) conn(ctx context.Context, srv *store.MCPServer) (*upstreamConn, error) {
	tok, err := credential(srv)
	if err != nil {
		return nil, err
	}
	key := srv.URL + "\x00" + srv.Transport + "\x00" + tok
	u.mu.Lock()
	c := u.conns[srv.ID]
	u.mu.Unlock()
	if c != nil && c.key == key {
		return c, nil
	}
	c, err = u.connect(ctx, srv, tok)
	if err != nil {
		return nil, err
	}
	c.key = key
	u.mu.Lock()
	if old := u.conns[srv.ID]; old != nil && old.key == key {
		// Another caller connected meanwhile: keep theirs.
		u.mu.Unlock()
		_ = c.session.Close()
		return old, nil
	} else if old != nil {
		go old.session.Close()
	}
	u.conns[srv.ID] = c
	u.mu.Unlock()
	return c, nil
}

// Forget drops a server's session after it failed, so the next use reconnects.
func (u *Upstreams) Forget(serverID string, cs *sdk.ClientSession) {
	u.mu.Lock()
	c := u.conns[serverID]
	if c != nil && c.session == cs {
		delete(u.conns, serverID)
	}
	u.mu.Unlock()
	if c != nil && c.session == cs {
		go cs.Close()
	}
}

// Close closes every session.
func (u *Upstreams) Close() {
	u.mu.Lock()
	conns := u.conns
	u.conns = map[string]*upstreamConn{}
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

// connect opens a client session to srv with the bearer token tok ("" for none).
func (u *Upstreams) connect(ctx context.Context, srv *store.MCPServer, tok string) (*upstreamConn, error) {
	hc := &http.Client{Transport: &credentialTransport{base: u.client.Transport, token: tok}, CheckRedirect: u.client.CheckRedirect}
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
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
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
// of the client's.
type credentialTransport struct {
	base  http.RoundTripper
	token string
}

func (t *credentialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del("Authorization")
	if t.token != "" {
		r.Header.Set("Authorization", "Bearer "+t.token)
	}
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
