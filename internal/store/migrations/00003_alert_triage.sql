-- +goose Up
-- Who moved an alert between active, dismissed and resolved, when and why.
CREATE TABLE alert_events (
    seq       {{serial}},
    alert_id  TEXT NOT NULL,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    status    TEXT NOT NULL,
    previous  TEXT NOT NULL,
    comment   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, seq);

-- A repeat of a dismissed alert (a new aggregate of the same type on the
-- same resource) is folded into it: its id points at the dismissed alert,
-- with the count already added, so its later documents add only the rest.
CREATE TABLE alert_aliases (
    id        TEXT PRIMARY KEY,
    alert_id  TEXT NOT NULL,
    count     INTEGER NOT NULL
);
CREATE INDEX alerts_dismissed ON alerts (status, resource_id, type);

-- +goose Down
DROP INDEX alerts_dismissed;
DROP TABLE alert_aliases;
DROP TABLE alert_events;
