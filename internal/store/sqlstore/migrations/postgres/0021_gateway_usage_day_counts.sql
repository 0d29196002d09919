-- What the Shadow-AI report reads per day, without counting or sorting the per-user sets
-- (issue 17: the AI security report over 90 days read 450k (day, user) rows at 5,000 users).

-- The number of distinct users of each UTC day over all applications, counted as
-- gateway_usage_day_users gains rows (in the same transaction). Existing days are backfilled
-- below.
CREATE TABLE gateway_usage_day_counts (
    day   INTEGER NOT NULL PRIMARY KEY,
    users INTEGER NOT NULL
);

INSERT INTO gateway_usage_day_counts (day, users)
SELECT day, COUNT(*) FROM gateway_usage_day_users GROUP BY day;

-- The per-day sums read from the index alone.
CREATE INDEX gateway_usage_day_sums ON gateway_usage (day, requests, bytes_up, bytes_down);

-- The daily users of each application, read in application order without a sort.
CREATE INDEX gateway_usage_app_days_by_app ON gateway_usage_app_days (app_id, day, users);
