-- +goose Up
-- One schema for SQLite and PostgreSQL: {{blob}}, {{serial}} and
-- {{without_rowid}} (SQLite keeps these rows in their primary key's b-tree:
-- one b-tree fewer to write per row) are
-- rendered per dialect (store.migrationsFS); times are Unix milliseconds
-- (BIGINT) so both sort and compare them the same way.

-- Every resource of the inventory, by its stable id (docs/identity.md).
CREATE TABLE resources (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    parent       TEXT NOT NULL DEFAULT '',
    alt_id       TEXT NOT NULL DEFAULT '',   -- an image's config digest
    labels       TEXT NOT NULL DEFAULT '{}',
    facts        TEXT NOT NULL DEFAULT '{}',
    health       TEXT NOT NULL DEFAULT '',   -- healthy | unhealthy | not-assessed | ''
    severity     INTEGER NOT NULL DEFAULT 0, -- rank of the worst unhealthy result (5 critical … 1 low)
    critical     INTEGER NOT NULL DEFAULT 0,
    high         INTEGER NOT NULL DEFAULT 0,
    medium       INTEGER NOT NULL DEFAULT 0,
    low          INTEGER NOT NULL DEFAULT 0,
    unknown      INTEGER NOT NULL DEFAULT 0,
    db_version   TEXT NOT NULL DEFAULT '',
    first_seen   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL
) {{without_rowid}};
CREATE INDEX resources_kind_name ON resources (kind, name, id);
CREATE INDEX resources_kind_seen ON resources (kind, last_seen, id);
CREATE INDEX resources_kind_sev ON resources (kind, severity, id);
CREATE INDEX resources_parent ON resources (parent, name, id);
CREATE INDEX resources_alt ON resources (alt_id);

CREATE TABLE resource_labels (
    resource_id TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (resource_id, key)
) {{without_rowid}};
CREATE INDEX resource_labels_kv ON resource_labels (key, value);

-- Every repository and tag an image was seen under.
CREATE TABLE image_refs (
    image_id    TEXT NOT NULL,
    repository  TEXT NOT NULL,
    tag         TEXT NOT NULL DEFAULT '',
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    PRIMARY KEY (image_id, repository, tag)
) {{without_rowid}};
CREATE INDEX image_refs_repo ON image_refs (repository, tag);

-- What runs what: a container or workload and the image it runs.
CREATE TABLE runs (
    runner_id    TEXT NOT NULL,
    image        TEXT NOT NULL,  -- digest or reference as the runner names it
    root_id      TEXT NOT NULL,  -- the host or cluster it runs on
    last_seen    BIGINT NOT NULL,
    PRIMARY KEY (runner_id, image)
) {{without_rowid}};
CREATE INDEX runs_image ON runs (image);

-- An image's package inventory (gzip JSON), matched by the server.
CREATE TABLE inventories (
    image_id     TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    distro       TEXT NOT NULL DEFAULT '',
    packages     INTEGER NOT NULL DEFAULT 0,
    data         {{blob}} NOT NULL,
    matched_with TEXT NOT NULL DEFAULT '',
    updated_at   BIGINT NOT NULL
);

-- What every finding of one advisory shares (title, aliases, CVSS,
-- references, EPSS, sources), once: findings keep only what is theirs.
CREATE TABLE vulnerabilities (
    id          TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
) {{without_rowid}};

CREATE TABLE findings (
    resource_id     TEXT NOT NULL,
    fkey            TEXT NOT NULL,
    vuln_id         TEXT NOT NULL,
    severity        INTEGER NOT NULL,
    pkg_name        TEXT NOT NULL,
    pkg_version     TEXT NOT NULL,
    pkg_type        TEXT NOT NULL,
    fixed_version   TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    known_exploited INTEGER NOT NULL DEFAULT 0,
    db_version      TEXT NOT NULL DEFAULT '',
    first_seen      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    data            TEXT NOT NULL,
    PRIMARY KEY (resource_id, fkey)
) {{without_rowid}};
-- Each list's filter, then its sort key, then the keyset's tie columns:
-- a page is read off an index, never sorted.
CREATE INDEX findings_vuln ON findings (vuln_id, severity, resource_id, fkey);
CREATE INDEX findings_res_sev ON findings (resource_id, severity, fkey);
CREATE INDEX findings_sev ON findings (severity, resource_id, fkey);

CREATE TABLE assessments (
    resource_id  TEXT NOT NULL,
    rule         TEXT NOT NULL,
    source       TEXT NOT NULL,
    status       TEXT NOT NULL,
    severity     INTEGER NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    evidence     TEXT NOT NULL DEFAULT '[]',
    remediation  TEXT NOT NULL DEFAULT '',
    observed_at  BIGINT NOT NULL,
    first_seen   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    PRIMARY KEY (resource_id, rule)
) {{without_rowid}};
CREATE INDEX assessments_rule ON assessments (rule, status, severity, resource_id);
CREATE INDEX assessments_status ON assessments (status, severity, resource_id, rule);
CREATE INDEX assessments_res_sev ON assessments (resource_id, severity, rule);

CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    severity     INTEGER NOT NULL,
    title        TEXT NOT NULL,
    resource_id  TEXT NOT NULL,
    status       TEXT NOT NULL,
    count        INTEGER NOT NULL,
    first_seen   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    tactics      TEXT NOT NULL DEFAULT '',
    data         TEXT NOT NULL
);
CREATE INDEX alerts_seen ON alerts (last_seen, id);
CREATE INDEX alerts_sev ON alerts (severity, last_seen, id);
CREATE INDEX alerts_resource ON alerts (resource_id, last_seen, id);
CREATE INDEX alerts_type ON alerts (type, last_seen, id);
CREATE INDEX alerts_status ON alerts (status, last_seen, id);

-- The last report stored per resource and kind: the same content again
-- (generated_at aside) stores nothing new.
CREATE TABLE reports (
    resource_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (resource_id, kind)
);

CREATE TABLE users (
    name            TEXT PRIMARY KEY,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL,
    must_change     INTEGER NOT NULL DEFAULT 0,
    disabled        INTEGER NOT NULL DEFAULT 0,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
);

-- Sessions by the SHA-256 of their cookie value: a stolen store yields no
-- usable cookie.
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_name);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    binding      TEXT NOT NULL DEFAULT '',
    bound_id     TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL DEFAULT 0,
    revoked_at   BIGINT NOT NULL DEFAULT 0,
    last_used_at BIGINT NOT NULL DEFAULT 0
);

-- Every change a person or token made.
CREATE TABLE audit_log (
    seq     {{serial}},
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- +goose Down
DROP TABLE meta;
DROP TABLE audit_log;
DROP TABLE tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE reports;
DROP TABLE alerts;
DROP TABLE assessments;
DROP TABLE findings;
DROP TABLE vulnerabilities;
DROP TABLE inventories;
DROP TABLE runs;
DROP TABLE image_refs;
DROP TABLE resource_labels;
DROP TABLE resources;
