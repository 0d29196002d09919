-- Review statuses of the gateway's application library set through the CLI or the admin API
-- (approved, unapproved, in review; an application without a row is unreviewed). The
-- configuration's gateway.app_reviews is not stored: it wins over these at run time.

CREATE TABLE gateway_app_reviews (
    app_id     INTEGER PRIMARY KEY,
    status     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL
);
