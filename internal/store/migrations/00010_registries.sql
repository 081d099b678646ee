-- +goose Up
-- Watched registries (issue 15). The secret (password or token) is sealed
-- with the server's secrets key (AES-256-GCM) and never read back out
-- through the API.
CREATE TABLE registries (
    name        TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    config      TEXT NOT NULL,            -- JSON: auth kind, user, globs, repositories, limits, crawl interval
    secret      {{blob}},                 -- sealed password or token; NULL: none
    crawled_at  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Every manifest digest a watched registry holds in a repository, with
-- when it was last pushed (or imported, or found by the crawler) and
-- pulled: the 30-day window of assessment is read off these times.
CREATE TABLE registry_images (
    registry    TEXT NOT NULL,
    repository  TEXT NOT NULL,            -- path within the registry
    digest      TEXT NOT NULL,            -- manifest or index digest as pushed
    tag         TEXT NOT NULL DEFAULT '', -- last tag seen with it
    media_type  TEXT NOT NULL DEFAULT '',
    pushed_at   BIGINT NOT NULL DEFAULT 0,
    pulled_at   BIGINT NOT NULL DEFAULT 0,
    deleted_at  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (registry, repository, digest)
) {{without_rowid}};
CREATE INDEX registry_images_digest ON registry_images (digest);
CREATE INDEX registry_images_pushed ON registry_images (pushed_at);
CREATE INDEX registry_images_pulled ON registry_images (pulled_at);

-- The scan state of every digest, once whatever the repositories it is in:
-- pending, scanned, or failed with a reason. A platform image of an index
-- names the index as parent.
CREATE TABLE image_scans (
    digest      TEXT PRIMARY KEY,
    parent      TEXT NOT NULL DEFAULT '',
    platform    TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,            -- pending | scanned | failed
    reason      TEXT NOT NULL DEFAULT '', -- authentication | not-found | unsupported-media-type | too-large | timeout | unavailable | error
    detail      TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    scans       INTEGER NOT NULL DEFAULT 0, -- inventories stored for it (1 when each digest is scanned once)
    generation  INTEGER NOT NULL DEFAULT 0, -- times a failed scan was asked again (part of the job's identity)
    updated_at  BIGINT NOT NULL,
    scanned_at  BIGINT NOT NULL DEFAULT 0
) {{without_rowid}};
CREATE INDEX image_scans_parent ON image_scans (parent);

-- +goose Down
DROP TABLE image_scans;
DROP TABLE registry_images;
DROP TABLE registries;
