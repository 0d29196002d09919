-- A rotated refresh token remembers its successor: the successor's hash, and its value sealed
-- under a key derived from the rotated token's value, so that a concurrent or retried refresh
-- within the app's reuse grace period gets the same successor instead of revoking the family.

ALTER TABLE oidc_refresh_tokens ADD COLUMN successor_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE oidc_refresh_tokens ADD COLUMN sealed_successor BLOB;
