-- MCP server portal (package mcp): Gatehouse as the OAuth client of upstream MCP servers
-- (auth_type oauth). Grants are the administrator's credential of a server (user_id '') or one
-- user's (on_behalf); clients are Gatehouse's dynamic registrations at their authorization
-- servers; states are authorizations waiting for their callback (single use, short-lived; id is
-- the SHA-256 of the state parameter). Every secret (tokens, client secret, PKCE verifier) is in
-- a sealed column, encrypted under the master key. Times are Unix microseconds.

CREATE TABLE mcp_upstream_grants (
    server_id  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    user_email TEXT COLLATE "C" NOT NULL,
    sealed     BYTEA   NOT NULL,
    expires_at BIGINT  NOT NULL,
    version    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (server_id, user_id)
);
CREATE INDEX mcp_upstream_grants_user ON mcp_upstream_grants (user_id);

CREATE TABLE mcp_upstream_clients (
    server_id    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    issuer       TEXT COLLATE "C" NOT NULL,
    redirect_uri TEXT COLLATE "C" NOT NULL,
    sealed       BYTEA   NOT NULL,
    created_at   BIGINT  NOT NULL
);

CREATE TABLE mcp_upstream_states (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    server_id  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    user_email TEXT COLLATE "C" NOT NULL,
    portal_id  TEXT COLLATE "C" NOT NULL,
    sealed     BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX mcp_upstream_states_expires ON mcp_upstream_states (expires_at);
