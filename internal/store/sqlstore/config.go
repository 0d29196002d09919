package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Kinds of config_objects rows.
const (
	kindOrganization     = "organization"
	kindIdentityProvider = "identity_provider"
	kindApplication      = "application"
	kindPolicy           = "policy"
	kindGroup            = "group"
	kindList             = "list"
	kindServiceToken     = "service_token"
	kindMCPServer        = "mcp_server"
	kindMCPPortal        = "mcp_portal"
)

// configRow is one config_objects row.
type configRow struct {
	kind string
	id   string
	body []byte
}

// GetConfig returns the current configuration; Version is 0 when nothing was stored.
func (s *Store) GetConfig(ctx context.Context) (*store.Config, error) {
	var cfg *store.Config
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var err error
		cfg, err = s.loadConfig(ctx, tx, false)
		return err
	})
	if err != nil {
		return nil, s.fail("get config", err)
	}
	return cfg, nil
}

// UpdateConfig runs update on the current configuration and stores the result, one row per object
// plus the version row, in one transaction.
func (s *Store) UpdateConfig(ctx context.Context, update func(*store.Config) error) (*store.Config, error) {
	var out *store.Config
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		cfg, err := s.loadConfig(ctx, tx, true)
		if err != nil {
			return err
		}
		version := cfg.Version
		auds := make(map[string]string, len(cfg.Applications))
		for _, a := range cfg.Applications {
			if a.AUD != "" {
				auds[a.ID] = a.AUD
			}
		}
		if err := update(cfg); err != nil {
			return &callbackError{err}
		}
		for i := range cfg.Applications {
			a := &cfg.Applications[i]
			if aud, ok := auds[a.ID]; ok {
				a.AUD = aud // stable while the app exists
			} else if a.AUD == "" {
				a.AUD = newAUD()
			}
		}
		if err := cfg.NormalizeManagedBy(); err != nil {
			return err
		}
		for i := range cfg.ServiceTokens {
			st := &cfg.ServiceTokens[i]
			st.ExpiresAt, st.CreatedAt = utc(st.ExpiresAt), utc(st.CreatedAt)
		}
		rows, err := configRows(cfg)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM config_objects")); err != nil {
			return err
		}
		position := map[string]int{}
		for _, r := range rows {
			_, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO config_objects (kind, position, id, body) VALUES (?, ?, ?, ?)"),
				r.kind, position[r.kind], r.id, string(r.body))
			if err != nil {
				return err
			}
			position[r.kind]++
		}
		_, err = tx.ExecContext(ctx, s.d.rebind("INSERT INTO config_version (id, version, updated_at) VALUES (1, ?, ?)"+
			s.d.upsert("id", "version = excluded.version, updated_at = excluded.updated_at")),
			version+1, micros(now))
		if err != nil {
			return err
		}
		if err := s.publish(ctx, tx, store.Change{Config: true}); err != nil {
			return err
		}
		// Return exactly what GetConfig will read back (JSON numbers in IdP config, nil slices).
		out, err = decodeConfig(rows)
		if err != nil {
			return err
		}
		out.Version = version + 1
		return nil
	})
	if err != nil {
		return nil, s.fail("update config", err)
	}
	s.watchers.notify(store.Change{Config: true})
	return out, nil
}

// loadConfig reads the configuration; lock takes the version row for update first.
func (s *Store) loadConfig(ctx context.Context, tx *sql.Tx, lock bool) (*store.Config, error) {
	q := "SELECT version FROM config_version WHERE id = 1"
	if lock {
		q += s.d.forUpdate
	}
	var version int64
	switch err := tx.QueryRowContext(ctx, s.d.rebind(q)).Scan(&version); err {
	case nil, sql.ErrNoRows:
	default:
		return nil, err
	}
	rs, err := tx.QueryContext(ctx, s.d.rebind("SELECT kind, id, body FROM config_objects ORDER BY kind, position"))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var rows []configRow
	for rs.Next() {
		var r configRow
		var body string
		if err := rs.Scan(&r.kind, &r.id, &body); err != nil {
			return nil, err
		}
		r.body = []byte(body)
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	cfg, err := decodeConfig(rows)
	if err != nil {
		return nil, err
	}
	cfg.Version = version
	return cfg, nil
}

// configRows encodes cfg as rows, each list in order.
func configRows(cfg *store.Config) ([]configRow, error) {
	var rows []configRow
	add := func(kind, id string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s %q: %w", kind, id, err)
		}
		rows = append(rows, configRow{kind: kind, id: id, body: b})
		return nil
	}
	if err := add(kindOrganization, "", cfg.Organization); err != nil {
		return nil, err
	}
	for _, v := range cfg.IdentityProviders {
		if err := add(kindIdentityProvider, v.ID, v); err != nil {
			return nil, err
		}
	}
	for _, v := range cfg.Applications {
		if err := add(kindApplication, v.ID, v); err != nil {
			return nil, err
		}
	}
	for _, v := range cfg.Policies {
		if err := add(kindPolicy, v.ID, v); err != nil {
			return nil, err
		}
	}
	for _, v := range cfg.Groups {
		if err := add(kindGroup, v.ID, v); err != nil {
			return nil, err
		}
	}
	for _, v := range cfg.Lists {
		if err := add(kindList, v.ID, v); err != nil {
			return nil, err
		}
	}
	for _, v := range cfg.ServiceTokens {
		if err := add(kindServiceToken, v.ID, v); err != nil {
			return nil, err
		}
	}
	for _, v := range cfg.MCPServers {
		if err := add(kindMCPServer, v.ID, v); err != nil {
			return nil, err
		}
	}
	for _, v := range cfg.MCPPortals {
		if err := add(kindMCPPortal, v.ID, v); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// decodeConfig builds a Config from rows of one kind after another, each kind in position order.
func decodeConfig(rows []configRow) (*store.Config, error) {
	cfg := &store.Config{}
	for _, r := range rows {
		var err error
		switch r.kind {
		case kindOrganization:
			err = json.Unmarshal(r.body, &cfg.Organization)
		case kindIdentityProvider:
			cfg.IdentityProviders, err = appendDecoded(cfg.IdentityProviders, r.body)
		case kindApplication:
			cfg.Applications, err = appendDecoded(cfg.Applications, r.body)
		case kindPolicy:
			cfg.Policies, err = appendDecoded(cfg.Policies, r.body)
		case kindGroup:
			cfg.Groups, err = appendDecoded(cfg.Groups, r.body)
		case kindList:
			cfg.Lists, err = appendDecoded(cfg.Lists, r.body)
		case kindServiceToken:
			cfg.ServiceTokens, err = appendDecoded(cfg.ServiceTokens, r.body)
		case kindMCPServer:
			cfg.MCPServers, err = appendDecoded(cfg.MCPServers, r.body)
		case kindMCPPortal:
			cfg.MCPPortals, err = appendDecoded(cfg.MCPPortals, r.body)
		default:
			err = errors.New("unknown kind")
		}
		if err != nil {
			return nil, fmt.Errorf("decode config %s %q: %w", r.kind, r.id, err)
		}
	}
	if err := cfg.NormalizeManagedBy(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func appendDecoded[T any](list []T, body []byte) ([]T, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return list, err
	}
	return append(list, v), nil
}

// newAUD returns a fresh application audience tag: 32 random bytes as 64 lower-case hex digits.
func newAUD() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return hex.EncodeToString(b[:])
}
