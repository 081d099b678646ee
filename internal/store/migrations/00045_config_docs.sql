-- +goose Up
-- Configuration the engines pull from the server (issue 14): the workload
-- policy config ("policies") and the run-time alert exceptions
-- ("runtime-exceptions"), each the YAML text its engine's own parser
-- reads, with a version that grows by one per change (the ETag).
CREATE TABLE config_docs (
    name        TEXT PRIMARY KEY,
    version     BIGINT NOT NULL,
    body        TEXT NOT NULL,
    updated_by  TEXT NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE config_docs;
