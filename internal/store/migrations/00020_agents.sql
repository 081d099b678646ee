-- +goose Up
-- Enrolled agents: each holds its own credential (a token bound to its
-- host or cluster), replaced before it expires; the previous one stays
-- valid for a short grace so requests in flight at rotation still pass.
CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    binding       TEXT NOT NULL DEFAULT '',
    token_id      TEXT NOT NULL,
    prev_token_id TEXT NOT NULL DEFAULT '',
    version       TEXT NOT NULL DEFAULT '',
    hostname      TEXT NOT NULL DEFAULT '',
    enrolled_by   TEXT NOT NULL DEFAULT '',
    enrolled_at   BIGINT NOT NULL,
    last_contact  BIGINT NOT NULL DEFAULT 0,
    interval_ms   BIGINT NOT NULL DEFAULT 0,
    health        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX agents_token ON agents (token_id);

-- +goose Down
DROP INDEX agents_token;
DROP TABLE agents;
