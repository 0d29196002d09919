-- MCP server portal (package mcp): a call log entry also names the tool or prompt as its server
-- names it (capability is the name the portal shows: {server_id}_{alias or name}); '' for
-- resources and for requests refused before they were routed.

ALTER TABLE mcp_call_logs ADD COLUMN upstream_capability TEXT NOT NULL DEFAULT '';
