-- +goose Up
-- Each resource's status for each recommendation (internal/recommend),
-- computed from its assessments and the exemptions; kept current by the
-- posture refresher from the resources ingestion marks dirty. The
-- recommendations page and the secure score read it, never the raw
-- assessments.
CREATE TABLE rec_resources (
    rec_id        TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    root_id       TEXT NOT NULL DEFAULT '',   -- its cluster or Docker host
    namespace     TEXT NOT NULL DEFAULT '',   -- cluster/namespace of a Kubernetes object
    status        TEXT NOT NULL,              -- with exemptions applied
    underlying    TEXT NOT NULL,              -- without them
    severity      INTEGER NOT NULL,
    exemption_id  TEXT NOT NULL DEFAULT '',
    evidence      TEXT NOT NULL DEFAULT '[]',
    first_seen    BIGINT NOT NULL,
    evaluated_at  BIGINT NOT NULL,
    status_since  BIGINT NOT NULL,
    resolved_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (rec_id, resource_id)
) {{without_rowid}};
CREATE INDEX rec_resources_list ON rec_resources (rec_id, status, severity, resource_id);
CREATE INDEX rec_resources_root ON rec_resources (root_id, rec_id, status);
CREATE INDEX rec_resources_ns ON rec_resources (namespace, rec_id, status);
CREATE INDEX rec_resources_res ON rec_resources (resource_id, rec_id);

-- Resources whose recommendations must be computed again (an ingestion, an
-- exemption, a run); the refresher empties it.
CREATE TABLE posture_dirty (
    resource_id TEXT PRIMARY KEY,
    at          BIGINT NOT NULL
);
-- A store from before this migration: every judged resource is computed.
INSERT INTO posture_dirty (resource_id, at) SELECT DISTINCT resource_id, 0 FROM assessments;

-- Precomputed for the pages: counts per recommendation and status, and the
-- score per control, with a row per day for the trend.
CREATE TABLE rec_counts (
    rec_id  TEXT NOT NULL,
    status  TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (rec_id, status)
);
CREATE TABLE score_controls (
    control        TEXT PRIMARY KEY,
    healthy        INTEGER NOT NULL,
    unhealthy      INTEGER NOT NULL,
    not_assessed   INTEGER NOT NULL,
    exempt         INTEGER NOT NULL,
    not_applicable INTEGER NOT NULL,
    points         DOUBLE PRECISION NOT NULL,
    max_points     DOUBLE PRECISION NOT NULL,
    computed_at    BIGINT NOT NULL
);
CREATE TABLE score_history (
    day        TEXT NOT NULL,   -- YYYY-MM-DD, UTC
    control    TEXT NOT NULL,   -- "" for the whole score
    points     DOUBLE PRECISION NOT NULL,
    max_points DOUBLE PRECISION NOT NULL,
    healthy    INTEGER NOT NULL,
    unhealthy  INTEGER NOT NULL,
    PRIMARY KEY (day, control)
);

-- Exemptions: of a recommendation (rec_id) or of one vulnerability
-- (vuln_id), for a scope. The exempt result keeps its underlying verdict.
CREATE TABLE exemptions (
    id            TEXT PRIMARY KEY,
    rec_id        TEXT NOT NULL DEFAULT '',
    vuln_id       TEXT NOT NULL DEFAULT '',
    scope         TEXT NOT NULL,              -- resource, repository, namespace, cluster, all
    scope_value   TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL,
    justification TEXT NOT NULL DEFAULT '',
    author        TEXT NOT NULL,
    source        TEXT NOT NULL DEFAULT 'api', -- api, openvex
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL DEFAULT 0,
    until_fix     INTEGER NOT NULL DEFAULT 0,
    revoked_at    BIGINT NOT NULL DEFAULT 0,
    revoked_by    TEXT NOT NULL DEFAULT '',
    ended_done    INTEGER NOT NULL DEFAULT 0  -- its end has been applied
);
CREATE INDEX exemptions_rec ON exemptions (rec_id);
CREATE INDEX exemptions_vuln ON exemptions (vuln_id);
CREATE INDEX exemptions_expiry ON exemptions (ended_done, expires_at);

-- OpenVEX documents teams sent the server: applied to every match.
CREATE TABLE vex_documents (
    id          TEXT PRIMARY KEY,   -- sha256 of the document
    author      TEXT NOT NULL,
    statements  INTEGER NOT NULL,
    received_at BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL DEFAULT 0,
    data        TEXT NOT NULL
);

-- Which inventories a re-match has still to do, without reading their
-- blobs.
CREATE INDEX inventories_matched ON inventories (matched_with, image_id);

-- History: findings that went away (fixed, or no longer in the DB), with
-- the DB versions that found and cleared them; assessments' status changes.
ALTER TABLE findings ADD COLUMN found_with TEXT NOT NULL DEFAULT '';
CREATE TABLE findings_resolved (
    resource_id   TEXT NOT NULL,
    fkey          TEXT NOT NULL,
    vuln_id       TEXT NOT NULL,
    severity      INTEGER NOT NULL,
    pkg_name      TEXT NOT NULL,
    pkg_version   TEXT NOT NULL,
    fixed_version TEXT NOT NULL DEFAULT '',
    first_seen    BIGINT NOT NULL,
    resolved_at   BIGINT NOT NULL,
    found_with    TEXT NOT NULL DEFAULT '',
    resolved_with TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (resource_id, fkey, resolved_at)
);
CREATE INDEX findings_resolved_at ON findings_resolved (resolved_at);
CREATE INDEX findings_resolved_vuln ON findings_resolved (vuln_id, resolved_at);
ALTER TABLE assessments ADD COLUMN status_since BIGINT NOT NULL DEFAULT 0;
ALTER TABLE assessments ADD COLUMN resolved_at BIGINT NOT NULL DEFAULT 0;
CREATE TABLE assessment_changes (
    seq          {{serial}},
    resource_id  TEXT NOT NULL,
    rule         TEXT NOT NULL,
    at           BIGINT NOT NULL,
    previous     TEXT NOT NULL,
    status       TEXT NOT NULL
);
CREATE INDEX assessment_changes_res ON assessment_changes (resource_id, rule, seq);
CREATE INDEX assessment_changes_at ON assessment_changes (at);

-- +goose Down
DROP TABLE assessment_changes;
ALTER TABLE assessments DROP COLUMN resolved_at;
ALTER TABLE assessments DROP COLUMN status_since;
DROP TABLE findings_resolved;
ALTER TABLE findings DROP COLUMN found_with;
DROP INDEX inventories_matched;
DROP TABLE vex_documents;
DROP TABLE exemptions;
DROP TABLE score_history;
DROP TABLE score_controls;
DROP TABLE rec_counts;
DROP TABLE posture_dirty;
DROP TABLE rec_resources;
