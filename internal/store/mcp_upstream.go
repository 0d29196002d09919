package store

import (
	"context"
	"time"
)

// MCPUpstreamGrant is an OAuth grant Gatehouse holds as the client of an upstream MCP server's
// authorization server (auth_type oauth): the administrator's credential of the server
// (UserID "") or one user's (portal entries with on_behalf). The tokens are sealed under the
// master key by package mcp; the store holds only the sealed bytes.
type MCPUpstreamGrant struct {
	ServerID string `json:"server_id"`
	// UserID is the user the grant acts for; "" for the administrator's credential.
	UserID string `json:"user_id"`
	// UserEmail is the user's address when the grant was made (for listings).
	UserEmail string `json:"user_email,omitempty"`
	// Sealed is the token set, encrypted (keys.Sealer, purpose PurposeMCPUpstreamTokens, bound
	// to the server and user).
	Sealed []byte `json:"-"`
	// ExpiresAt is when the access token expires (zero when the server did not say).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Version counts the writes of the grant: 1 when it is put, one more at each swap.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MCPUpstreamClient is Gatehouse's registration (RFC 7591) at an upstream server's
// authorization server, reused by every authorization of the server while the issuer and
// redirect URI stay the same.
type MCPUpstreamClient struct {
	ServerID    string `json:"server_id"`
	Issuer      string `json:"issuer"`
	RedirectURI string `json:"redirect_uri"`
	// Sealed is the client id and secret, encrypted as grants are.
	Sealed    []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// MCPUpstreamState is an authorization at an upstream server's authorization server waiting
// for its callback: single-use and short-lived, so that any replica can finish it.
type MCPUpstreamState struct {
	// ID is the SHA-256 (hex) of the state parameter; the parameter itself is not stored.
	ID       string `json:"id"`
	ServerID string `json:"server_id"`
	// UserID is the user who started it ("" for the administrator's authorization); only that
	// user may finish it.
	UserID    string `json:"user_id"`
	UserEmail string `json:"user_email,omitempty"`
	// PortalID is the portal whose connect page started it ("" for the administrator's).
	PortalID string `json:"portal_id,omitempty"`
	// Sealed is the PKCE verifier, client and endpoints, encrypted as grants are.
	Sealed    []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// MCPUpstreamAuth stores what Gatehouse keeps as the OAuth client of upstream MCP servers.
// Optional (found by type assertion), like MCP; everything in the Store doc comment holds for
// it. RevokeUserSessions (and SCIM deprovisioning) deletes the user's grants in the same
// transaction.
type MCPUpstreamAuth interface {
	// GetMCPUpstreamGrant returns the grant of a server for a user ("" for the
	// administrator's); ErrNotFound when there is none.
	GetMCPUpstreamGrant(ctx context.Context, serverID, userID string) (*MCPUpstreamGrant, error)
	// ListMCPUpstreamGrants returns a user's grants ("" for the administrator's), by server id
	// (never nil).
	ListMCPUpstreamGrants(ctx context.Context, userID string) ([]MCPUpstreamGrant, error)
	// PutMCPUpstreamGrant stores a grant, replacing the server's grant for the user if there
	// is one, and sets g's Version (one more than the replaced grant's, else 1), CreatedAt and
	// UpdatedAt (now, UTC, truncated to the microsecond). Empty Sealed or ServerID is an error
	// wrapping none of the sentinels.
	PutMCPUpstreamGrant(ctx context.Context, g *MCPUpstreamGrant) error
	// SwapMCPUpstreamGrant replaces the grant only while its Version is still version (a
	// refresh): ErrConflict when another write came first, ErrNotFound when the grant was
	// deleted meanwhile (it is not created again). It sets g's Version and UpdatedAt; Sealed,
	// ExpiresAt and UserEmail are taken from g.
	SwapMCPUpstreamGrant(ctx context.Context, g *MCPUpstreamGrant, version int64) error
	// DeleteMCPUpstreamGrant deletes a grant; no error when there was none.
	DeleteMCPUpstreamGrant(ctx context.Context, serverID, userID string) error
	// GetMCPUpstreamClient returns the server's client registration; ErrNotFound when none.
	GetMCPUpstreamClient(ctx context.Context, serverID string) (*MCPUpstreamClient, error)
	// PutMCPUpstreamClient stores the server's client registration, replacing any; it sets
	// CreatedAt (now).
	PutMCPUpstreamClient(ctx context.Context, c *MCPUpstreamClient) error
	// CreateMCPUpstreamState stores a pending authorization; ErrAlreadyExists when the ID is
	// taken. A zero CreatedAt means now. Expired states are deleted in passing.
	CreateMCPUpstreamState(ctx context.Context, s *MCPUpstreamState) error
	// ConsumeMCPUpstreamState returns an unexpired pending authorization and deletes it, so
	// that it finishes once: ErrNotFound when it is unknown, expired or already consumed.
	ConsumeMCPUpstreamState(ctx context.Context, id string) (*MCPUpstreamState, error)
}
