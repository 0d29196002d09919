-- Admin REST API tokens (by SHA-256 only), generic audit events, and the export cursors of the
-- audit and auth event streams (one row per sink and stream).

CREATE TABLE admin_tokens (
    id           TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
);

CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    time        INTEGER NOT NULL,
    actor_type  TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    ip          TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    reasons     TEXT    NOT NULL,
    details     TEXT    NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (time, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, time);
CREATE INDEX audit_events_target ON audit_events (target_id, time);

CREATE TABLE export_cursors (
    sink   TEXT    NOT NULL,
    stream TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (sink, stream)
);

CREATE INDEX auth_events_user_idp ON auth_events (user_id, idp_id) WHERE allowed <> 0 AND action = 'login';
