-- Root CAs of the secure web gateway's TLS inspection: the certificate in PEM, the private key
-- sealed under the master key like the signing keys, and Cloudflare's lifecycle state
-- (inactive, available, in_use). One CA in use at most.

CREATE TABLE gateway_cas (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    state                 TEXT COLLATE "C" NOT NULL,
    fingerprint           TEXT COLLATE "C" NOT NULL,
    certificate_pem       TEXT COLLATE "C" NOT NULL,
    private_key_encrypted BYTEA            NOT NULL,
    created_at            BIGINT           NOT NULL,
    expires_at            BIGINT           NOT NULL,
    updated_at            BIGINT           NOT NULL
);
CREATE UNIQUE INDEX gateway_cas_in_use ON gateway_cas (state) WHERE state = 'in_use';
CREATE INDEX gateway_cas_created ON gateway_cas (created_at, id);
