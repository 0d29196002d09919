package oidcop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/netguard"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, the MCP
// authorization specification's preferred registration): a client names itself with an https
// URL, and the document at that URL describes it. The URL comes from whoever calls the
// authorization endpoint, so it is fetched with care: https only, a public address (or one
// of the portal's client_id_metadata_documents.allowed_networks; never link-local or cloud
// metadata addresses), the address vetted at dial time (no DNS rebinding), no redirects, at
// most 5 KiB within 5 seconds, JSON whose client_id is the URL itself. Documents are cached
// for ten minutes.

const (
	maxClientDocumentBytes = 5 << 10
	clientDocumentTimeout  = 5 * time.Second
	clientDocumentTTL      = 10 * time.Minute
	maxClientDocuments     = 1024
)

// clientDocuments fetches and caches client ID metadata documents.
type clientDocuments struct {
	mu    sync.Mutex
	cache map[string]cachedDocument
	// transport is the fetching transport's base for tests (TLS roots); nil in production.
	transport *http.Transport
}

type cachedDocument struct {
	client  *store.MCPClient
	err     error
	expires time.Time
}

// IsClientIDURL reports whether a client_id is a client ID metadata document URL.
func IsClientIDURL(id string) bool { return strings.HasPrefix(id, "https://") }

// clientIDURLProblem checks a client ID URL as the draft requires: https, a host, a path, no
// fragment, no user information, no dot segments.
func clientIDURLProblem(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return "the client_id URL must be an absolute https URL"
	case u.Path == "" || u.Path == "/":
		return "the client_id URL must have a path"
	case u.Fragment != "" || u.User != nil:
		return "the client_id URL must have no fragment or user information"
	case !staysBelow(u):
		return "the client_id URL must have no dot segments (plain or percent-encoded) or encoded separators"
	}
	return ""
}

// fetch returns the client a document describes, from the cache or fetched now.
func (d *clientDocuments) fetch(ctx context.Context, clientID string, opts *store.MCPClientIDMetadataDocuments, now time.Time) (*store.MCPClient, error) {
	d.mu.Lock()
	if d.cache == nil {
		d.cache = map[string]cachedDocument{}
	}
	if c, ok := d.cache[clientID]; ok && now.Before(c.expires) {
		d.mu.Unlock()
		return c.client, c.err
	}
	d.mu.Unlock()
	client, err := d.load(ctx, clientID, opts, now)
	if ctx.Err() == nil {
		d.mu.Lock()
		if len(d.cache) >= maxClientDocuments {
			clear(d.cache)
		}
		ttl := clientDocumentTTL
		if err != nil {
			ttl = time.Minute // a failure is retried sooner
		}
		d.cache[clientID] = cachedDocument{client: client, err: err, expires: now.Add(ttl)}
		d.mu.Unlock()
	}
	return client, err
}

// errClientDocument is wrapped by every refusal of a document.
var errClientDocument = errors.New("client ID metadata document")

func (d *clientDocuments) load(ctx context.Context, clientID string, opts *store.MCPClientIDMetadataDocuments, now time.Time) (*store.MCPClient, error) {
	if msg := clientIDURLProblem(clientID); msg != "" {
		return nil, fmt.Errorf("%w: %s", errClientDocument, msg)
	}
	var allowed []netip.Prefix
	if opts != nil {
		for _, c := range opts.AllowedNetworks {
			if p, err := netip.ParsePrefix(c); err == nil {
				allowed = append(allowed, p)
			}
		}
	}
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		for _, ip := range ips {
			ip = ip.Unmap()
			if !documentAddressAllowed(ip, allowed) {
				continue
			}
			return (&net.Dialer{Timeout: clientDocumentTimeout}).DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		}
		return nil, fmt.Errorf("%w: %s", netguard.ErrForbiddenAddress, host)
	}
	tr := &http.Transport{Proxy: nil, DialContext: dial, TLSHandshakeTimeout: clientDocumentTimeout, DisableKeepAlives: true}
	if d.transport != nil {
		tr.TLSClientConfig = d.transport.TLSClientConfig
	}
	hc := &http.Client{Transport: tr, Timeout: clientDocumentTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientID, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errClientDocument, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, netguard.ErrForbiddenAddress) {
			return nil, fmt.Errorf("%w: the client_id URL's host is not a public address", errClientDocument)
		}
		return nil, fmt.Errorf("%w: fetching it failed", errClientDocument)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: its URL answered %d (redirects are not followed)", errClientDocument, resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return nil, fmt.Errorf("%w: it is not application/json", errClientDocument)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxClientDocumentBytes+1))
	if err != nil || len(body) > maxClientDocumentBytes {
		return nil, fmt.Errorf("%w: it is larger than %d bytes or could not be read", errClientDocument, maxClientDocumentBytes)
	}
	var doc struct {
		ClientID                string   `json:"client_id"`
		ClientName              string   `json:"client_name"`
		ClientURI               string   `json:"client_uri"`
		RedirectURIs            []string `json:"redirect_uris"`
		TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
		SoftwareID              string   `json:"software_id"`
		SoftwareVersion         string   `json:"software_version"`
		ClientSecret            string   `json:"client_secret"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: it is not a JSON object", errClientDocument)
	}
	switch {
	case doc.ClientID != clientID:
		return nil, fmt.Errorf("%w: its client_id is not its own URL", errClientDocument)
	case len(doc.RedirectURIs) == 0 || len(doc.RedirectURIs) > maxRedirectURIs:
		return nil, fmt.Errorf("%w: it must list 1 to %d redirect_uris", errClientDocument, maxRedirectURIs)
	case doc.ClientSecret != "":
		return nil, fmt.Errorf("%w: it must not hold a client_secret", errClientDocument)
	case doc.TokenEndpointAuthMethod != "" && doc.TokenEndpointAuthMethod != "none":
		return nil, fmt.Errorf("%w: only public clients (token_endpoint_auth_method none) are supported", errClientDocument)
	case len(doc.ClientName) > maxClientNameLen:
		return nil, fmt.Errorf("%w: client_name is too long", errClientDocument)
	}
	return &store.MCPClient{ClientID: clientID, ClientName: doc.ClientName, ClientURI: doc.ClientURI,
		RedirectURIs: slices.Clone(doc.RedirectURIs), CreatedAt: now, SoftwareID: doc.SoftwareID, SoftwareVersion: doc.SoftwareVersion}, nil
}

// documentAddressAllowed reports whether a document may be fetched from ip: a public address,
// or one of allowed that is not link-local or a cloud metadata address.
func documentAddressAllowed(ip netip.Addr, allowed []netip.Prefix) bool {
	switch netguard.Classify(ip) {
	case netguard.ClassPublic:
		return true
	case netguard.ClassLinkLocal, netguard.ClassMetadata:
		return false
	}
	for _, p := range allowed {
		if p.Contains(ip) {
			return netguard.Allowed(ip)
		}
	}
	return false
}
