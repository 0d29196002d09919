package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.PromptLogs = (*Store)(nil)

const promptLogColumns = "ts, request_id, user_email, user_groups, device_id, src_ip, app_id, app_name, app_type, app_status," +
	" control, conversation_id, model, policy_id, policy_name, policy_action, dlp_profiles, dlp_entries, dlp_confidence," +
	" topics, bytes_up, payload_enc"

// jsonList encodes a list column: a JSON array, [] for nil.
func jsonList[T any](v []T) (string, error) {
	if v == nil {
		v = []T{}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// AppendPromptLogs stores a batch of prompt log entries and sets their IDs and times.
func (s *Store) AppendPromptLogs(ctx context.Context, logs []store.PromptLog) error {
	rows := make([][]any, len(logs))
	for i := range logs {
		l := &logs[i]
		switch {
		case l.Time.IsZero():
			return fmt.Errorf("sqlstore: append prompt logs: [%d]: zero time", i)
		case len(l.PayloadEnc) == 0:
			return fmt.Errorf("sqlstore: append prompt logs: [%d]: empty payload_enc", i)
		case l.BytesUp < 0:
			return fmt.Errorf("sqlstore: append prompt logs: [%d]: negative bytes_up", i)
		}
		groups, err := jsonList(l.UserGroups)
		if err != nil {
			return fmt.Errorf("sqlstore: append prompt logs: [%d]: %w", i, err)
		}
		profiles, err := jsonList(l.DLPProfiles)
		if err != nil {
			return fmt.Errorf("sqlstore: append prompt logs: [%d]: %w", i, err)
		}
		entries, err := jsonList(l.DLPEntries)
		if err != nil {
			return fmt.Errorf("sqlstore: append prompt logs: [%d]: %w", i, err)
		}
		topics, err := jsonList(l.Topics)
		if err != nil {
			return fmt.Errorf("sqlstore: append prompt logs: [%d]: %w", i, err)
		}
		rows[i] = []any{micros(l.Time), l.RequestID, l.UserEmail, groups, l.DeviceID, l.SrcIP, l.AppID, l.AppName,
			l.AppType, l.AppStatus, l.Control, l.ConversationID, l.Model, l.PolicyID, l.PolicyName, l.PolicyAction,
			profiles, entries, l.DLPConfidence, topics, l.BytesUp, l.PayloadEnc}
	}
	if len(logs) == 0 {
		return nil
	}
	ids := make([]int64, len(logs))
	q := s.d.rebind("INSERT INTO prompt_logs (" + promptLogColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
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
		return s.addPromptRollups(ctx, tx, logs)
	})
	if err != nil {
		return s.fail("append prompt logs", err)
	}
	for i := range logs {
		logs[i].ID, logs[i].Time = ids[i], utc(logs[i].Time)
	}
	return nil
}

// ListPromptLogs returns the prompt log entries q selects, newest first.
func (s *Store) ListPromptLogs(ctx context.Context, q store.PromptLogQuery) ([]store.PromptLog, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v ...any) {
		where = append(where, cond)
		args = append(args, v...)
	}
	if q.ConversationID != "" {
		add("conversation_id = ?", q.ConversationID)
	}
	if q.UserEmail != "" {
		add("user_email = ?", q.UserEmail)
	}
	if q.App != "" {
		add("(app_id = ? OR app_name = ?)", q.App, q.App)
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
		limit = store.DefaultPromptLogLimit
	case limit > store.MaxPromptLogLimit:
		limit = store.MaxPromptLogLimit
	}
	query := "SELECT id, " + promptLogColumns + " FROM prompt_logs"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit)
	var out []store.PromptLog
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, s.d.rebind(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanPromptLog(rows)
			if err != nil {
				return err
			}
			out = append(out, *l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list prompt logs", err)
	}
	return out, nil
}

func scanPromptLog(sc scanner) (*store.PromptLog, error) {
	var (
		l                                store.PromptLog
		ts                               int64
		groups, profiles, entries, topic string
	)
	if err := sc.Scan(&l.ID, &ts, &l.RequestID, &l.UserEmail, &groups, &l.DeviceID, &l.SrcIP, &l.AppID, &l.AppName,
		&l.AppType, &l.AppStatus, &l.Control, &l.ConversationID, &l.Model, &l.PolicyID, &l.PolicyName, &l.PolicyAction,
		&profiles, &entries, &l.DLPConfidence, &topic, &l.BytesUp, &l.PayloadEnc); err != nil {
		return nil, err
	}
	l.Time = fromMicros(ts)
	for _, c := range []struct {
		name string
		src  string
		dst  any
	}{{"user_groups", groups, &l.UserGroups}, {"dlp_profiles", profiles, &l.DLPProfiles},
		{"dlp_entries", entries, &l.DLPEntries}, {"topics", topic, &l.Topics}} {
		if err := json.Unmarshal([]byte(c.src), c.dst); err != nil {
			return nil, fmt.Errorf("prompt log %d: %s: %w", l.ID, c.name, err)
		}
	}
	// Never nil: a listing shows [] for an empty list.
	if l.UserGroups == nil {
		l.UserGroups = []string{}
	}
	if l.DLPProfiles == nil {
		l.DLPProfiles = []string{}
	}
	if l.DLPEntries == nil {
		l.DLPEntries = []string{}
	}
	if l.Topics == nil {
		l.Topics = []store.PromptLogTopic{}
	}
	return &l, nil
}

// DeletePromptLogsBefore deletes the prompt log entries older than before.
func (s *Store) DeletePromptLogsBefore(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		res, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM prompt_logs WHERE ts < ?"), micros(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, s.fail("delete prompt logs", err)
	}
	return n, nil
}
