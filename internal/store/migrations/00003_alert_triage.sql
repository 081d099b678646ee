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

-- +goose Down
DROP TABLE alert_events;
