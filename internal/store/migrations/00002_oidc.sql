-- +goose Up
-- The state of OIDC log-ins in progress (10 minutes at most), in the store
-- so the callback may reach another replica than the one that started it.
CREATE TABLE oidc_states (
    state_hash  TEXT PRIMARY KEY,
    nonce       TEXT NOT NULL,
    verifier    TEXT NOT NULL,
    return_to   TEXT NOT NULL DEFAULT '/',
    expires_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE oidc_states;
