-- MCP server portal (package mcp): Gatehouse as the OAuth client of upstream MCP servers
-- (auth_type oauth). Grants are the administrator's credential of a server (user_id '') or one
-- user's (on_behalf); clients are Gatehouse's dynamic registrations at their authorization
-- servers; states are authorizations waiting for their callback (single use, short-lived; id is
-- the SHA-256 of the state parameter). Every secret (tokens, client secret, PKCE verifier) is in
-- a sealed column, encrypted under the master key. Times are Unix microseconds.

CREATE TABLE mcp_upstream_grants (
    server_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    user_email TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    expires_at INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (server_id, user_id)
);
CREATE INDEX mcp_upstream_grants_user ON mcp_upstream_grants (user_id);

CREATE TABLE mcp_upstream_clients (
    server_id    TEXT    NOT NULL PRIMARY KEY,
    issuer       TEXT    NOT NULL,
    redirect_uri TEXT    NOT NULL,
    sealed       BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE mcp_upstream_states (
    id         TEXT    NOT NULL PRIMARY KEY,
    server_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    user_email TEXT    NOT NULL,
    portal_id  TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX mcp_upstream_states_expires ON mcp_upstream_states (expires_at);
