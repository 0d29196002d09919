-- One-time values (SAML assertion IDs) remembered until they expire, shared by every replica.
CREATE TABLE seen_once (
    key        TEXT COLLATE "C" PRIMARY KEY,
    expires_at BIGINT           NOT NULL
);
CREATE INDEX seen_once_expires ON seen_once (expires_at);
