-- SP-initiated SAML requests of SaaS applications waiting for their user to sign in; single use.
CREATE TABLE pending_saml_requests (
    id           TEXT COLLATE "C" PRIMARY KEY,
    app_id       TEXT COLLATE "C" NOT NULL,
    request_id   TEXT COLLATE "C" NOT NULL,
    relay_state  TEXT COLLATE "C" NOT NULL,
    sp_entity_id TEXT COLLATE "C" NOT NULL,
    acs_url      TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT           NOT NULL,
    expires_at   BIGINT           NOT NULL,
    used_at      BIGINT           NOT NULL
);
CREATE INDEX pending_saml_requests_expires ON pending_saml_requests (expires_at);
