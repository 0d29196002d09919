-- MCP server portal (package mcp): what the last sync of each registered server found, shared by
-- every replica, and the log of requests through portals (never their arguments or results).
-- Times are Unix microseconds (0: never); error_details, tools, prompts and resources hold JSON
-- (NULL: none); the list columns of mcp_call_logs hold JSON arrays. mcp_call_logs.id is the
-- listing cursor, never reused.

CREATE TABLE mcp_server_states (
    server_id           TEXT    NOT NULL PRIMARY KEY,
    status              TEXT    NOT NULL,
    error_details       TEXT,
    transport           TEXT    NOT NULL,
    protocol_version    TEXT    NOT NULL,
    tools               TEXT,
    prompts             TEXT,
    resources           TEXT,
    tools_hash          TEXT    NOT NULL,
    approved_tools_hash TEXT    NOT NULL,
    synced_at           INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE mcp_call_logs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          INTEGER NOT NULL,
    request_id  TEXT    NOT NULL,
    portal_id   TEXT    NOT NULL,
    server_id   TEXT    NOT NULL,
    method      TEXT    NOT NULL,
    capability  TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    user_email  TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    decision    TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    duration_ms REAL    NOT NULL,
    bytes_in    INTEGER NOT NULL,
    bytes_out   INTEGER NOT NULL,
    dlp_entries TEXT    NOT NULL,
    topics      TEXT    NOT NULL
);
CREATE INDEX mcp_call_logs_ts ON mcp_call_logs (ts);
CREATE INDEX mcp_call_logs_portal ON mcp_call_logs (portal_id, id);
CREATE INDEX mcp_call_logs_user ON mcp_call_logs (user_email, id);
CREATE INDEX mcp_call_logs_server ON mcp_call_logs (server_id, id);
