-- OIDC provider of SaaS apps: authorization codes, grants (token families) and refresh tokens.
-- Codes and refresh tokens are kept by their SHA-256 only. Scopes are space-separated.

CREATE TABLE oidc_codes (
    code_hash      TEXT COLLATE "C" PRIMARY KEY,
    grant_id       TEXT COLLATE "C" NOT NULL,
    app_id         TEXT COLLATE "C" NOT NULL,
    client_id      TEXT COLLATE "C" NOT NULL,
    redirect_uri   TEXT COLLATE "C" NOT NULL,
    code_challenge TEXT COLLATE "C" NOT NULL,
    nonce          TEXT COLLATE "C" NOT NULL,
    scopes         TEXT COLLATE "C" NOT NULL,
    user_id        TEXT COLLATE "C" NOT NULL,
    session_id     TEXT COLLATE "C" NOT NULL,
    auth_time      BIGINT           NOT NULL,
    identity       BYTEA,
    created_at     BIGINT           NOT NULL,
    expires_at     BIGINT           NOT NULL,
    used_at        BIGINT           NOT NULL
);
CREATE INDEX oidc_codes_expires ON oidc_codes (expires_at);

CREATE TABLE oidc_grants (
    id            TEXT COLLATE "C" PRIMARY KEY,
    app_id        TEXT COLLATE "C" NOT NULL,
    client_id     TEXT COLLATE "C" NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL,
    session_id    TEXT COLLATE "C" NOT NULL,
    scopes        TEXT COLLATE "C" NOT NULL,
    public_client INTEGER          NOT NULL,
    auth_time     BIGINT           NOT NULL,
    identity      BYTEA,
    created_at    BIGINT           NOT NULL,
    expires_at    BIGINT           NOT NULL,
    revoked_at    BIGINT           NOT NULL,
    revoke_reason TEXT COLLATE "C" NOT NULL
);
CREATE INDEX oidc_grants_expires ON oidc_grants (expires_at);
CREATE INDEX oidc_grants_user ON oidc_grants (user_id);

CREATE TABLE oidc_refresh_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    grant_id   TEXT COLLATE "C" NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    created_at BIGINT           NOT NULL,
    expires_at BIGINT           NOT NULL,
    used_at    BIGINT           NOT NULL
);
CREATE INDEX oidc_refresh_tokens_grant ON oidc_refresh_tokens (grant_id);
CREATE INDEX oidc_refresh_tokens_expires ON oidc_refresh_tokens (expires_at);
