-- Initial schema. Times are INTEGER microseconds since the Unix epoch in UTC; 0 means unset.

CREATE TABLE config_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One row per configuration object; position keeps the order of each list.
CREATE TABLE config_objects (
    kind     TEXT    NOT NULL,
    position INTEGER NOT NULL,
    id       TEXT    NOT NULL,
    body     TEXT    NOT NULL,
    PRIMARY KEY (kind, position)
);
CREATE INDEX config_objects_kind_id ON config_objects (kind, id);

CREATE TABLE users (
    id                TEXT    PRIMARY KEY,
    email             TEXT    NOT NULL UNIQUE,
    name              TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    tokens_not_before INTEGER NOT NULL,
    last_seen         TEXT    NOT NULL
);
CREATE INDEX users_not_before ON users (tokens_not_before) WHERE tokens_not_before <> 0;

CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    idp_id     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL,
    ip         TEXT    NOT NULL,
    country    TEXT    NOT NULL,
    identity   BLOB
);
CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (expires_at) WHERE revoked_at <> 0;

CREATE TABLE app_revocations (
    app_id     TEXT    PRIMARY KEY,
    not_before INTEGER NOT NULL
);

CREATE TABLE login_flows (
    id              TEXT    PRIMARY KEY,
    app_id          TEXT    NOT NULL,
    redirect_url    TEXT    NOT NULL,
    idp_id          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    browser_binding TEXT    NOT NULL,
    data            TEXT    NOT NULL
);
CREATE INDEX login_flows_expires ON login_flows (expires_at);

CREATE TABLE handoff_codes (
    code_hash       TEXT    PRIMARY KEY,
    session_id      TEXT    NOT NULL,
    app_id          TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    redirect_url    TEXT    NOT NULL,
    browser_binding TEXT    NOT NULL,
    token           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER NOT NULL
);
CREATE INDEX handoff_codes_expires ON handoff_codes (expires_at);

CREATE TABLE pin_challenges (
    id         TEXT    PRIMARY KEY,
    email      TEXT    NOT NULL,
    pin_hash   TEXT    NOT NULL,
    attempts   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL
);
CREATE INDEX pin_challenges_expires ON pin_challenges (expires_at);

-- One row per key: the current fixed window and its count.
CREATE TABLE rate_limits (
    key          TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    count        INTEGER NOT NULL
);
CREATE INDEX rate_limits_window_end ON rate_limits (window_end);

-- seq orders keys by rotation; retire_at = 0 marks the current key, of which there is at most one.
CREATE TABLE signing_keys (
    id                    TEXT    PRIMARY KEY,
    seq                   INTEGER NOT NULL UNIQUE,
    algorithm             TEXT    NOT NULL,
    private_key_encrypted BLOB,
    certificate_pem       TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    retire_at             INTEGER NOT NULL
);
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (retire_at) WHERE retire_at = 0;

-- seq (the rowid) breaks ties between events of the same time.
CREATE TABLE auth_events (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    time       INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    allowed    INTEGER NOT NULL,
    user_id    TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    app_id     TEXT    NOT NULL,
    app_domain TEXT    NOT NULL,
    idp_id     TEXT    NOT NULL,
    idp_type   TEXT    NOT NULL,
    ip         TEXT    NOT NULL,
    country    TEXT    NOT NULL,
    policy_id  TEXT    NOT NULL,
    reasons    TEXT    NOT NULL,
    request_id TEXT    NOT NULL
);
CREATE INDEX auth_events_time ON auth_events (time, seq);
CREATE INDEX auth_events_user ON auth_events (user_id, time);
CREATE INDEX auth_events_email ON auth_events (email, time);
CREATE INDEX auth_events_app ON auth_events (app_id, time);
