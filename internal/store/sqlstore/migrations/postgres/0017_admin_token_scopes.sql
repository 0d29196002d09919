-- Scopes of admin REST API tokens: a space-separated list (package admin names them). Tokens made
-- before scopes existed were all-powerful and keep that: they get the scope "all".

ALTER TABLE admin_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'all';
