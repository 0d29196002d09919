package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.MCP = (*Store)(nil)

const mcpServerStateColumns = "server_id, status, error_details, transport, protocol_version, tools, prompts, resources," +
	" tools_hash, approved_tools_hash, synced_at, updated_at"

// GetMCPServerState returns the stored sync state of a server.
func (s *Store) GetMCPServerState(ctx context.Context, serverID string) (*store.MCPServerState, error) {
	var out *store.MCPServerState
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		st, err := scanMCPServerState(tx.QueryRowContext(ctx,
			s.d.rebind("SELECT "+mcpServerStateColumns+" FROM mcp_server_states WHERE server_id = ?"), serverID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mcp server state %q: %w", serverID, store.ErrNotFound)
		}
		out = st
		return err
	})
	if err != nil {
		return nil, s.fail("get mcp server state", err)
	}
	return out, nil
}

// ListMCPServerStates returns every stored sync state, by server id (never nil).
func (s *Store) ListMCPServerStates(ctx context.Context) ([]store.MCPServerState, error) {
	out := []store.MCPServerState{}
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		rows, err := tx.QueryContext(ctx, "SELECT "+mcpServerStateColumns+" FROM mcp_server_states ORDER BY server_id")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			st, err := scanMCPServerState(rows)
			if err != nil {
				return err
			}
			out = append(out, *st)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list mcp server states", err)
	}
	return out, nil
}

// UpdateMCPServerState runs update on a server's state in a write transaction and stores the
// result. The row is locked before it is read: a missing one is first created empty (INSERT ...
// ON CONFLICT DO NOTHING, which waits for a concurrent creator to commit), then taken with
// SELECT ... FOR UPDATE on PostgreSQL; SQLite's write transaction holds the database lock.
// Concurrent updaters of one server therefore run one after the other, each on the state the
// previous one stored. The empty row is rolled back with the transaction when update fails.
func (s *Store) UpdateMCPServerState(ctx context.Context, serverID string, update func(*store.MCPServerState) error) (*store.MCPServerState, error) {
	if serverID == "" {
		return nil, errors.New("sqlstore: update mcp server state: empty server id")
	}
	var out *store.MCPServerState
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		_, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO mcp_server_states ("+mcpServerStateColumns+")"+
			" VALUES (?, '', NULL, '', '', NULL, NULL, NULL, '', '', 0, 0) ON CONFLICT (server_id) DO NOTHING"), serverID)
		if err != nil {
			return err
		}
		st, err := scanMCPServerState(tx.QueryRowContext(ctx,
			s.d.rebind("SELECT "+mcpServerStateColumns+" FROM mcp_server_states WHERE server_id = ?"+s.d.forUpdate), serverID))
		if err != nil {
			return err
		}
		if err := update(st); err != nil {
			return &callbackError{err}
		}
		if st.ServerID != serverID {
			return fmt.Errorf("the updater changed the server id %q to %q", serverID, st.ServerID)
		}
		st.SyncedAt, st.UpdatedAt = utc(st.SyncedAt), now
		args, err := mcpServerStateArgs(st)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.d.rebind("UPDATE mcp_server_states SET status = ?, error_details = ?, transport = ?,"+
			" protocol_version = ?, tools = ?, prompts = ?, resources = ?, tools_hash = ?, approved_tools_hash = ?,"+
			" synced_at = ?, updated_at = ? WHERE server_id = ?"), append(args, serverID)...)
		if err != nil {
			return err
		}
		// Return what GetMCPServerState reads back (an empty JSON list is stored as none).
		out = st
		for _, l := range []*json.RawMessage{&out.Tools, &out.Prompts, &out.Resources} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("update mcp server state", err)
	}
	return out, nil
}

// mcpServerStateArgs encodes the columns of st after server_id, in mcpServerStateColumns order.
func mcpServerStateArgs(st *store.MCPServerState) ([]any, error) {
	var errDetails sql.NullString
	if st.Error != nil {
		b, err := json.Marshal(st.Error)
		if err != nil {
			return nil, fmt.Errorf("error_details: %w", err)
		}
		errDetails = sql.NullString{String: string(b), Valid: true}
	}
	lists := make([]sql.NullString, 3)
	for i, c := range []struct {
		name string
		v    json.RawMessage
	}{{"tools", st.Tools}, {"prompts", st.Prompts}, {"resources", st.Resources}} {
		if len(c.v) == 0 {
			continue
		}
		// Stored as text, so it must be JSON in UTF-8 (json.Valid lets invalid UTF-8 through).
		if !json.Valid(c.v) || !utf8.Valid(c.v) {
			return nil, fmt.Errorf("%s: not valid JSON", c.name)
		}
		lists[i] = sql.NullString{String: string(c.v), Valid: true}
	}
	return []any{st.Status, errDetails, st.Transport, st.ProtocolVersion, lists[0], lists[1], lists[2],
		st.ToolsHash, st.ApprovedToolsHash, micros(st.SyncedAt), micros(st.UpdatedAt)}, nil
}

func scanMCPServerState(sc scanner) (*store.MCPServerState, error) {
	var (
		st                              store.MCPServerState
		errDetails, tools, prompts, res sql.NullString
		synced, updated                 int64
	)
	if err := sc.Scan(&st.ServerID, &st.Status, &errDetails, &st.Transport, &st.ProtocolVersion, &tools, &prompts, &res,
		&st.ToolsHash, &st.ApprovedToolsHash, &synced, &updated); err != nil {
		return nil, err
	}
	if errDetails.Valid {
		st.Error = new(store.MCPSyncError)
		if err := json.Unmarshal([]byte(errDetails.String), st.Error); err != nil {
			return nil, fmt.Errorf("mcp server state %q: error_details: %w", st.ServerID, err)
		}
	}
	for _, c := range []struct {
		src sql.NullString
		dst *json.RawMessage
	}{{tools, &st.Tools}, {prompts, &st.Prompts}, {res, &st.Resources}} {
		if c.src.Valid && c.src.String != "" {
			*c.dst = json.RawMessage(c.src.String)
		}
	}
	st.SyncedAt, st.UpdatedAt = fromMicros(synced), fromMicros(updated)
	return &st, nil
}

// DeleteMCPServerState deletes a server's sync state, if there is one.
func (s *Store) DeleteMCPServerState(ctx context.Context, serverID string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		_, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM mcp_server_states WHERE server_id = ?"), serverID)
		return err
	})
	if err != nil {
		return s.fail("delete mcp server state", err)
	}
	return nil
}

const mcpCallLogColumns = "ts, request_id, portal_id, server_id, method, capability, user_id, user_email, client_id," +
	" decision, reason, duration_ms, bytes_in, bytes_out, dlp_entries, topics, upstream_capability"

// AppendMCPCallLogs stores a batch of MCP call log entries and sets their IDs and times.
func (s *Store) AppendMCPCallLogs(ctx context.Context, logs []store.MCPCallLog) error {
	rows := make([][]any, len(logs))
	for i := range logs {
		l := &logs[i]
		switch {
		case l.Time.IsZero():
			return fmt.Errorf("sqlstore: append mcp call logs: [%d]: zero time", i)
		case l.BytesIn < 0:
			return fmt.Errorf("sqlstore: append mcp call logs: [%d]: negative bytes_in", i)
		case l.BytesOut < 0:
			return fmt.Errorf("sqlstore: append mcp call logs: [%d]: negative bytes_out", i)
		case l.DurationMS < 0 || math.IsNaN(l.DurationMS) || math.IsInf(l.DurationMS, 0):
			// SQLite stores a NaN REAL as NULL; neither is a duration.
			return fmt.Errorf("sqlstore: append mcp call logs: [%d]: duration_ms %v is not a non-negative number", i, l.DurationMS)
		}
		entries, err := jsonList(l.DLPEntries)
		if err != nil {
			return fmt.Errorf("sqlstore: append mcp call logs: [%d]: %w", i, err)
		}
		topics, err := jsonList(l.Topics)
		if err != nil {
			return fmt.Errorf("sqlstore: append mcp call logs: [%d]: %w", i, err)
		}
		rows[i] = []any{micros(l.Time), l.RequestID, l.PortalID, l.ServerID, l.Method, l.Capability, l.UserID, l.UserEmail,
			l.ClientID, l.Decision, l.Reason, l.DurationMS, l.BytesIn, l.BytesOut, entries, topics, l.UpstreamCapability}
	}
	if len(logs) == 0 {
		return nil
	}
	ids := make([]int64, len(logs))
	q := s.d.rebind("INSERT INTO mcp_call_logs (" + mcpCallLogColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, args := range rows {
			if err := st.QueryRowContext(ctx, args...).Scan(&ids[i]); err != nil {
				return err
			}
		}
		return s.addMCPRollups(ctx, tx, logs)
	})
	if err != nil {
		return s.fail("append mcp call logs", err)
	}
	for i := range logs {
		logs[i].ID, logs[i].Time = ids[i], utc(logs[i].Time)
	}
	return nil
}

// ListMCPCallLogs returns the MCP call log entries q selects, newest first.
func (s *Store) ListMCPCallLogs(ctx context.Context, q store.MCPCallLogQuery) ([]store.MCPCallLog, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	for _, f := range []struct{ col, v string }{
		{"portal_id", q.PortalID}, {"server_id", q.ServerID}, {"user_email", q.UserEmail}, {"decision", q.Decision},
	} {
		if f.v != "" {
			add(f.col+" = ?", f.v)
		}
	}
	if !q.Since.IsZero() {
		add("ts >= ?", micros(q.Since))
	}
	if !q.Until.IsZero() {
		add("ts < ?", micros(q.Until))
	}
	if q.Before > 0 {
		add("id < ?", q.Before)
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = store.DefaultMCPCallLogLimit
	case limit > store.MaxMCPCallLogLimit:
		limit = store.MaxMCPCallLogLimit
	}
	query := "SELECT id, " + mcpCallLogColumns + " FROM mcp_call_logs"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit)
	out := []store.MCPCallLog{}
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		rows, err := tx.QueryContext(ctx, s.d.rebind(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanMCPCallLog(rows)
			if err != nil {
				return err
			}
			out = append(out, *l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list mcp call logs", err)
	}
	return out, nil
}

func scanMCPCallLog(sc scanner) (*store.MCPCallLog, error) {
	var (
		l               store.MCPCallLog
		t               int64
		entries, topics string
	)
	if err := sc.Scan(&l.ID, &t, &l.RequestID, &l.PortalID, &l.ServerID, &l.Method, &l.Capability, &l.UserID, &l.UserEmail,
		&l.ClientID, &l.Decision, &l.Reason, &l.DurationMS, &l.BytesIn, &l.BytesOut, &entries, &topics, &l.UpstreamCapability); err != nil {
		return nil, err
	}
	l.Time = fromMicros(t)
	if err := json.Unmarshal([]byte(entries), &l.DLPEntries); err != nil {
		return nil, fmt.Errorf("mcp call log %d: dlp_entries: %w", l.ID, err)
	}
	if err := json.Unmarshal([]byte(topics), &l.Topics); err != nil {
		return nil, fmt.Errorf("mcp call log %d: topics: %w", l.ID, err)
	}
	// Never nil: a listing shows [] for an empty list.
	if l.DLPEntries == nil {
		l.DLPEntries = []string{}
	}
	if l.Topics == nil {
		l.Topics = []string{}
	}
	return &l, nil
}

// DeleteMCPCallLogsBefore deletes the MCP call log entries older than before.
func (s *Store) DeleteMCPCallLogsBefore(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		res, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM mcp_call_logs WHERE ts < ?"), micros(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, s.fail("delete mcp call logs", err)
	}
	return n, nil
}
