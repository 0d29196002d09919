-- OIDC provider of SaaS apps: authorization codes, grants (token families) and refresh tokens.
-- Codes and refresh tokens are kept by their SHA-256 only. Scopes are space-separated.

CREATE TABLE oidc_codes (
    code_hash      TEXT    PRIMARY KEY,
    grant_id       TEXT    NOT NULL,
    app_id         TEXT    NOT NULL,
    client_id      TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    code_challenge TEXT    NOT NULL,
    nonce          TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    session_id     TEXT    NOT NULL,
    auth_time      INTEGER NOT NULL,
    identity       BLOB,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER NOT NULL
);
CREATE INDEX oidc_codes_expires ON oidc_codes (expires_at);

CREATE TABLE oidc_grants (
    id            TEXT    PRIMARY KEY,
    app_id        TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    session_id    TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    public_client INTEGER NOT NULL,
    auth_time     INTEGER NOT NULL,
    identity      BLOB,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER NOT NULL,
    revoke_reason TEXT    NOT NULL
);
CREATE INDEX oidc_grants_expires ON oidc_grants (expires_at);
CREATE INDEX oidc_grants_user ON oidc_grants (user_id);

CREATE TABLE oidc_refresh_tokens (
    token_hash TEXT    PRIMARY KEY,
    grant_id   TEXT    NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL
);
CREATE INDEX oidc_refresh_tokens_grant ON oidc_refresh_tokens (grant_id);
CREATE INDEX oidc_refresh_tokens_expires ON oidc_refresh_tokens (expires_at);
