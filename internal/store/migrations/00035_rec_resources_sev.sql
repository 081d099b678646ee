-- +goose Up
-- A recommendation's resources in every status, worst first (its page
-- without a status filter): read off this index instead of sorting all of
-- the recommendation's resources (10,000 images: 60 ms, 450 ms at p95
-- under load, before).
CREATE INDEX rec_resources_sev ON rec_resources (rec_id, severity, resource_id);

-- +goose Down
DROP INDEX rec_resources_sev;
