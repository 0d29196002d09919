-- MCP server portal (package mcp): the OAuth clients MCP clients registered dynamically (RFC 7591)
-- with the portals' authorization server. Public clients: no secret is stored. redirect_uris holds
-- a JSON array of strings; created_at is Unix microseconds, indexed for the retention sweep that
-- forgets clients registered before a cutoff.

CREATE TABLE mcp_clients (
    client_id        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    client_name      TEXT             NOT NULL,
    client_uri       TEXT             NOT NULL,
    redirect_uris    TEXT             NOT NULL,
    software_id      TEXT             NOT NULL,
    software_version TEXT             NOT NULL,
    created_at       BIGINT           NOT NULL
);
CREATE INDEX mcp_clients_created ON mcp_clients (created_at);
