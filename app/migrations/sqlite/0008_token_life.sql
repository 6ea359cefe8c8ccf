-- Tokens may expire, and say when they were last used. Uses are written to a table of
-- their own (at most once a minute per token and replica), so that they move no launch-list
-- version (service_tokens' triggers bump it) and take no lock on the token's row.
ALTER TABLE service_tokens ADD COLUMN expires_at INTEGER;
CREATE TABLE token_uses (
    token_id     INTEGER PRIMARY KEY REFERENCES service_tokens (id) ON DELETE CASCADE,
    last_used_at INTEGER NOT NULL
);
