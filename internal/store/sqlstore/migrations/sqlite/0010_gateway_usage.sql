-- Daily usage rollups of the secure web gateway (Shadow-AI discovery): per UTC day (days since
-- 1970-01-01), application, review status, action and category, the requests and their bytes;
-- and the distinct users of each application per day, of each day, and of each application
-- since a day, so unique users are counted exactly.

CREATE TABLE gateway_usage (
    day        INTEGER NOT NULL,
    app_id     INTEGER NOT NULL,
    app_status TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    category   TEXT    NOT NULL,
    app_name   TEXT    NOT NULL,
    requests   INTEGER NOT NULL,
    bytes_up   INTEGER NOT NULL,
    bytes_down INTEGER NOT NULL,
    PRIMARY KEY (day, app_id, app_status, action, category)
);

CREATE TABLE gateway_usage_users (
    day      INTEGER NOT NULL,
    app_id   INTEGER NOT NULL,
    user_key TEXT    NOT NULL,
    PRIMARY KEY (day, app_id, user_key)
);
-- The distinct users of each application per day, counted as gateway_usage_users gains rows.
CREATE TABLE gateway_usage_app_days (
    day    INTEGER NOT NULL,
    app_id INTEGER NOT NULL,
    users  INTEGER  NOT NULL,
    PRIMARY KEY (day, app_id)
);

-- The last day each user used each application: the distinct users of an application since a
-- day are its rows with last_day on or after it (apps x users rows, however many days).
CREATE TABLE gateway_usage_app_users (
    app_id   INTEGER NOT NULL,
    user_key TEXT NOT NULL,
    last_day INTEGER NOT NULL,
    PRIMARY KEY (app_id, user_key)
);
CREATE INDEX gateway_usage_app_users_last ON gateway_usage_app_users (last_day);

-- The distinct users of each day over all applications (not derivable from the per-application
-- table without counting it all).
CREATE TABLE gateway_usage_day_users (
    day      INTEGER NOT NULL,
    user_key TEXT NOT NULL,
    PRIMARY KEY (day, user_key)
);
