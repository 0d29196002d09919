-- AI prompt logs (package ai/promptlog): the metadata of each captured prompt in the clear, and
-- the prompt, response and attachment metadata only as an HPKE blob sealed to the
-- administrator's public key (payload_enc). ts is Unix microseconds; the list columns hold
-- JSON arrays. id is the listing cursor, never reused.

CREATE TABLE prompt_logs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts              BIGINT           NOT NULL,
    request_id      TEXT COLLATE "C" NOT NULL,
    user_email      TEXT COLLATE "C" NOT NULL,
    user_groups     TEXT             NOT NULL,
    device_id       TEXT COLLATE "C" NOT NULL,
    src_ip          TEXT COLLATE "C" NOT NULL,
    app_id          TEXT COLLATE "C" NOT NULL,
    app_name        TEXT COLLATE "C" NOT NULL,
    app_type        TEXT             NOT NULL,
    app_status      TEXT             NOT NULL,
    control         TEXT             NOT NULL,
    conversation_id TEXT COLLATE "C" NOT NULL,
    model           TEXT             NOT NULL,
    policy_id       TEXT             NOT NULL,
    policy_name     TEXT             NOT NULL,
    policy_action   TEXT             NOT NULL,
    dlp_profiles    TEXT             NOT NULL,
    dlp_entries     TEXT             NOT NULL,
    dlp_confidence  TEXT             NOT NULL,
    topics          TEXT             NOT NULL,
    bytes_up        BIGINT           NOT NULL,
    payload_enc     BYTEA            NOT NULL
);
CREATE INDEX prompt_logs_ts ON prompt_logs (ts);
CREATE INDEX prompt_logs_conversation ON prompt_logs (conversation_id, id);
CREATE INDEX prompt_logs_user ON prompt_logs (user_email, id);
CREATE INDEX prompt_logs_app ON prompt_logs (app_id, id);
