-- +goose Up
-- The console's vulnerability search and its alert chart (issue 13).

-- Every alias an advisory is known by (a GHSA of a CVE, a CVE of a
-- distribution's advisory), so a search by either finds the findings,
-- whichever id the matcher stored them under. Filled as advisories are
-- stored; the rows of a store from before this migration are added by
-- Store.migrate (reading each advisory's JSON is the same Go on both
-- engines).
CREATE TABLE vuln_aliases (
    alias    TEXT NOT NULL,
    vuln_id  TEXT NOT NULL,
    PRIMARY KEY (alias, vuln_id)
) {{without_rowid}};

-- Which advisories each package name has had findings of: the
-- vulnerability search by package. One row per distinct pair (tens of
-- thousands, where findings are a million), so ingestion pays a probe of a
-- small b-tree rather than one more index entry per finding (an index on
-- findings (pkg_name, …) made ingestion a third slower). Pairs whose
-- findings went away stay; the search checks a finding still exists.
CREATE TABLE vuln_packages (
    pkg_name TEXT NOT NULL,
    vuln_id  TEXT NOT NULL,
    PRIMARY KEY (pkg_name, vuln_id)
) {{without_rowid}};
INSERT INTO vuln_packages (pkg_name, vuln_id) SELECT DISTINCT pkg_name, vuln_id FROM findings;

-- The vulnerability list filtered by known exploitation: a partial index,
-- as small as the KEV findings.
CREATE INDEX findings_kev ON findings (vuln_id) WHERE known_exploited = 1;

-- Alerts counted per day, severity and status over a window, read off the
-- index alone.
CREATE INDEX alerts_seen_counts ON alerts (last_seen, severity, status);

-- +goose Down
DROP INDEX alerts_seen_counts;
DROP INDEX findings_kev;
DROP TABLE vuln_packages;
DROP TABLE vuln_aliases;
