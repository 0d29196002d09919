package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.MCPClients = (*Store)(nil)

const mcpClientColumns = "client_id, client_name, client_uri, redirect_uris, software_id, software_version, created_at"

// CreateMCPClient stores a dynamically registered MCP OAuth client; ErrAlreadyExists when its
// ClientID is taken. A zero CreatedAt means now (the store clock). On success c.CreatedAt is
// what was stored: UTC, truncated to the microsecond.
func (s *Store) CreateMCPClient(ctx context.Context, c *store.MCPClient) error {
	switch {
	case c.ClientID == "":
		return errors.New("sqlstore: create mcp client: empty client id")
	case len(c.RedirectURIs) == 0:
		return fmt.Errorf("sqlstore: create mcp client %q: no redirect URIs", c.ClientID)
	}
	for i, u := range c.RedirectURIs {
		// The list is stored as JSON, which would replace invalid UTF-8 and so change the URI
		// that authorization requests are matched against exactly.
		if !utf8.ValidString(u) {
			return fmt.Errorf("sqlstore: create mcp client %q: redirect URI [%d] is not valid UTF-8", c.ClientID, i)
		}
	}
	uris, err := jsonList(c.RedirectURIs)
	if err != nil {
		return fmt.Errorf("sqlstore: create mcp client %q: redirect URIs: %w", c.ClientID, err)
	}
	var created time.Time
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		created = createdOr(c.CreatedAt, now)
		return s.insert(ctx, tx, "INSERT INTO mcp_clients ("+mcpClientColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			c.ClientID, c.ClientName, c.ClientURI, uris, c.SoftwareID, c.SoftwareVersion, micros(created))
	})
	if err != nil {
		return s.fail("create mcp client", err)
	}
	c.CreatedAt = created
	return nil
}

// GetMCPClient returns a registered MCP OAuth client.
func (s *Store) GetMCPClient(ctx context.Context, clientID string) (*store.MCPClient, error) {
	var out *store.MCPClient
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var (
			c       store.MCPClient
			uris    string
			created int64
		)
		err := tx.QueryRowContext(ctx, s.d.rebind("SELECT "+mcpClientColumns+" FROM mcp_clients WHERE client_id = ?"), clientID).
			Scan(&c.ClientID, &c.ClientName, &c.ClientURI, &uris, &c.SoftwareID, &c.SoftwareVersion, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mcp client %q: %w", clientID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(uris), &c.RedirectURIs); err != nil {
			return fmt.Errorf("mcp client %q: redirect_uris: %w", clientID, err)
		}
		c.CreatedAt = fromMicros(created)
		out = &c
		return nil
	})
	if err != nil {
		return nil, s.fail("get mcp client", err)
	}
	return out, nil
}

// DeleteMCPClientsBefore deletes the MCP OAuth clients registered before before.
func (s *Store) DeleteMCPClientsBefore(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		res, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM mcp_clients WHERE created_at < ?"), micros(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, s.fail("delete mcp clients", err)
	}
	return n, nil
}
