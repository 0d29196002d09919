-- Daily rollups of the logs the console's reports read (issue 17), kept current in the same
-- transaction as each log insert, so that the AI security and Access reports count every row
-- of their period exactly and read a few rows per day. day is the UTC day (days since
-- 1970-01-01). Retention of the raw logs leaves the rollups; they go with
-- DeleteReportRollupsBefore (see docs/console.md). Existing rows are backfilled below.

-- Prompts per day, application, topic and action: topic '' counts each prompt once; a
-- non-empty topic counts each classifier topic the prompt was given.
CREATE TABLE prompt_rollup (
    day     INTEGER          NOT NULL,
    app_id  TEXT COLLATE "C" NOT NULL,
    topic   TEXT COLLATE "C" NOT NULL,
    action  TEXT COLLATE "C" NOT NULL,
    prompts BIGINT           NOT NULL,
    PRIMARY KEY (day, app_id, topic, action)
);

-- Risky prompts (a DLP match, or a topic with medium or high confidence) per day and sender.
CREATE TABLE prompt_risky_users (
    day        INTEGER          NOT NULL,
    user_email TEXT COLLATE "C" NOT NULL,
    prompts    BIGINT           NOT NULL,
    PRIMARY KEY (day, user_email)
);

-- The same per week (week = day / 7): a long period sums whole weeks and at most six days.
CREATE TABLE prompt_risky_users_weekly (
    week       INTEGER NOT NULL,
    user_email TEXT COLLATE "C" NOT NULL,
    prompts    BIGINT           NOT NULL,
    PRIMARY KEY (week, user_email)
);

-- MCP requests per day, portal, server, method and decision.
CREATE TABLE mcp_call_rollup (
    day       INTEGER          NOT NULL,
    portal_id TEXT COLLATE "C" NOT NULL,
    server_id TEXT COLLATE "C" NOT NULL,
    method    TEXT COLLATE "C" NOT NULL,
    decision  TEXT COLLATE "C" NOT NULL,
    calls     BIGINT           NOT NULL,
    PRIMARY KEY (day, portal_id, server_id, method, decision)
);

-- Auth events per day, action, result, application and IdP: kind 0 counts each event once
-- (reason ''); kind 1 counts each reason an event gave (reason '' for an event without any).
CREATE TABLE auth_event_rollup (
    day     INTEGER          NOT NULL,
    kind    SMALLINT         NOT NULL,
    action  TEXT COLLATE "C" NOT NULL,
    allowed BOOLEAN          NOT NULL,
    reason  TEXT COLLATE "C" NOT NULL,
    app_id  TEXT COLLATE "C" NOT NULL,
    idp_id  TEXT COLLATE "C" NOT NULL,
    events  BIGINT           NOT NULL,
    PRIMARY KEY (day, kind, action, allowed, reason, app_id, idp_id)
);

INSERT INTO prompt_rollup (day, app_id, topic, action, prompts)
SELECT ts / 86400000000, app_id, '', policy_action, count(*) FROM prompt_logs GROUP BY 1, 2, 4;
INSERT INTO prompt_rollup (day, app_id, topic, action, prompts)
SELECT p.ts / 86400000000, p.app_id, t.value ->> 'id', p.policy_action, count(*)
FROM prompt_logs p CROSS JOIN LATERAL jsonb_array_elements(p.topics::jsonb) AS t(value)
WHERE coalesce(t.value ->> 'id', '') <> '' GROUP BY 1, 2, 3, 4;
INSERT INTO prompt_risky_users (day, user_email, prompts)
SELECT p.ts / 86400000000, p.user_email, count(*) FROM prompt_logs p
WHERE jsonb_array_length(p.dlp_entries::jsonb) > 0
   OR EXISTS (SELECT 1 FROM jsonb_array_elements(p.topics::jsonb) AS t(value)
              WHERE t.value ->> 'confidence' IN ('high', 'medium'))
GROUP BY 1, 2;

INSERT INTO prompt_risky_users_weekly (week, user_email, prompts)
SELECT day / 7, user_email, SUM(prompts) FROM prompt_risky_users GROUP BY 1, 2;

INSERT INTO mcp_call_rollup (day, portal_id, server_id, method, decision, calls)
SELECT ts / 86400000000, portal_id, server_id, method, decision, count(*) FROM mcp_call_logs GROUP BY 1, 2, 3, 4, 5;

INSERT INTO auth_event_rollup (day, kind, action, allowed, reason, app_id, idp_id, events)
SELECT time / 86400000000, 0, action, allowed, '', app_id, idp_id, count(*) FROM auth_events GROUP BY 1, 3, 4, 6, 7;
INSERT INTO auth_event_rollup (day, kind, action, allowed, reason, app_id, idp_id, events)
SELECT day, 1, action, allowed, reason, app_id, idp_id, count(*) FROM (
    SELECT e.time / 86400000000 AS day, e.action, e.allowed, coalesce(r.reason, '') AS reason, e.app_id, e.idp_id
    FROM auth_events e
    LEFT JOIN LATERAL jsonb_array_elements_text(CASE WHEN e.reasons IN ('', 'null') THEN '[]' ELSE e.reasons END::jsonb)
        AS r(reason) ON true
) x GROUP BY 1, 3, 4, 5, 6, 7;
