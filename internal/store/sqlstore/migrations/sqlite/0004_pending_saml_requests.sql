-- SP-initiated SAML requests of SaaS applications waiting for their user to sign in; single use.
CREATE TABLE pending_saml_requests (
    id           TEXT    PRIMARY KEY,
    app_id       TEXT    NOT NULL,
    request_id   TEXT    NOT NULL,
    relay_state  TEXT    NOT NULL,
    sp_entity_id TEXT    NOT NULL,
    acs_url      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER NOT NULL
);
CREATE INDEX pending_saml_requests_expires ON pending_saml_requests (expires_at);
