-- Devices enrolled for the secure web gateway: the ID is the proxy username, the secret (the
-- proxy password) is stored as its SHA-256 only. revoked_at and last_seen_at are 0 when unset.

CREATE TABLE gateway_devices (
    id            TEXT    PRIMARY KEY,
    user_id       TEXT    NOT NULL REFERENCES users (id),
    name          TEXT    NOT NULL,
    secret_sha256 TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    revoked_at    INTEGER NOT NULL
);
CREATE INDEX gateway_devices_user ON gateway_devices (user_id, created_at, id);
CREATE INDEX gateway_devices_created ON gateway_devices (created_at, id);
