-- Review statuses of the gateway's application library set through the CLI or the admin API
-- (approved, unapproved, in review; an application without a row is unreviewed). The
-- configuration's gateway.app_reviews is not stored: it wins over these at run time.

CREATE TABLE gateway_app_reviews (
    app_id     BIGINT           PRIMARY KEY,
    status     TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT           NOT NULL,
    updated_by TEXT COLLATE "C" NOT NULL
);
