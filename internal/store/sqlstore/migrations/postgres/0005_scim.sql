-- SCIM 2.0 provisioning (package scim): per-IdP bearer secrets (SHA-256 only), the Users and
-- Groups each identity provider pushes, and group membership. Resources of one IdP never see
-- another's: every lookup is keyed by idp_id as well as id.

-- IdP IDs the user has logged in through (JSON array) and the SCIM group names each IdP's
-- provisioning gives the user (JSON object idp ID -> names).
ALTER TABLE users ADD COLUMN idp_ids TEXT COLLATE "C" NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN scim_groups TEXT COLLATE "C" NOT NULL DEFAULT '{}';

CREATE TABLE scim_secrets (
    idp_id      TEXT COLLATE "C" PRIMARY KEY,
    secret_hash TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT           NOT NULL
);

CREATE TABLE scim_users (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    idp_id             TEXT COLLATE "C" NOT NULL,
    external_id        TEXT COLLATE "C" NOT NULL,
    user_name          TEXT COLLATE "C" NOT NULL,
    user_name_folded   TEXT COLLATE "C" NOT NULL,
    display_name       TEXT COLLATE "C" NOT NULL,
    email              TEXT COLLATE "C" NOT NULL,
    active             BOOLEAN          NOT NULL,
    registry_user_id   TEXT COLLATE "C" NOT NULL,
    owns_registry_user BOOLEAN          NOT NULL,
    version            BIGINT           NOT NULL,
    created_at         BIGINT           NOT NULL,
    updated_at         BIGINT           NOT NULL,
    attributes         TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (idp_id, user_name_folded);
CREATE INDEX scim_users_list ON scim_users (idp_id, created_at, id);
CREATE INDEX scim_users_external_id ON scim_users (idp_id, external_id);
CREATE INDEX scim_users_email ON scim_users (idp_id, email);
CREATE INDEX scim_users_display_name ON scim_users (idp_id, display_name);
CREATE INDEX scim_users_updated ON scim_users (idp_id, updated_at);
CREATE INDEX scim_users_registry ON scim_users (registry_user_id) WHERE registry_user_id <> '';

CREATE TABLE scim_groups (
    id           TEXT COLLATE "C" PRIMARY KEY,
    idp_id       TEXT COLLATE "C" NOT NULL,
    external_id  TEXT COLLATE "C" NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL,
    version      BIGINT           NOT NULL,
    created_at   BIGINT           NOT NULL,
    updated_at   BIGINT           NOT NULL,
    attributes   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX scim_groups_list ON scim_groups (idp_id, created_at, id);
CREATE INDEX scim_groups_display_name ON scim_groups (idp_id, display_name);
CREATE INDEX scim_groups_external_id ON scim_groups (idp_id, external_id);
CREATE INDEX scim_groups_updated ON scim_groups (idp_id, updated_at);

CREATE TABLE scim_members (
    group_id TEXT COLLATE "C" NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id  TEXT COLLATE "C" NOT NULL REFERENCES scim_users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_members_user ON scim_members (user_id);
