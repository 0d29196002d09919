-- Signing keys get a use: '' signs Gatehouse's own tokens and rotates on a schedule;
-- 'saas-saml' signs SAML assertions for SaaS apps, whose service providers usually pin the
-- certificate, and rotates only by hand. One current key per use.

ALTER TABLE signing_keys ADD COLUMN key_use TEXT NOT NULL DEFAULT '';
DROP INDEX signing_keys_current;
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (key_use) WHERE retire_at = 0;
