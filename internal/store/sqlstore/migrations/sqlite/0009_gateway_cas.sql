-- Root CAs of the secure web gateway's TLS inspection: the certificate in PEM, the private key
-- sealed under the master key like the signing keys, and Cloudflare's lifecycle state
-- (inactive, available, in_use). One CA in use at most.

CREATE TABLE gateway_cas (
    id                    TEXT    PRIMARY KEY,
    state                 TEXT    NOT NULL,
    fingerprint           TEXT    NOT NULL,
    certificate_pem       TEXT    NOT NULL,
    private_key_encrypted BLOB    NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE UNIQUE INDEX gateway_cas_in_use ON gateway_cas (state) WHERE state = 'in_use';
CREATE INDEX gateway_cas_created ON gateway_cas (created_at, id);
