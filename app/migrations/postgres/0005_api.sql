-- Service tokens for scripts and launch pages, and the change counter of launchable images.

-- A token is shown once; only its SHA-256 is kept. Revoked tokens stay on record (revoked_at
-- set), so a name can be used again only once its token is revoked.
CREATE TABLE service_tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT   NOT NULL COLLATE "C",
    token_hash TEXT   NOT NULL UNIQUE,
    scope      TEXT   NOT NULL CHECK (scope IN ('read', 'write')),
    user_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX service_tokens_live_name ON service_tokens (name) WHERE revoked_at IS NULL;

-- Bumped by every change that can change anybody's launchable images or what a service
-- token speaks for: images, builds' states, memberships, users, groups, credentials and
-- tokens. Launch lists and token answers are remembered against it, so every replica
-- answers with the current ones (a revoked token stops at once).
CREATE TABLE launch_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT  NOT NULL
);
INSERT INTO launch_version (id, version) VALUES (1, 0);

CREATE FUNCTION bump_launch_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE launch_version SET version = version + 1;
    RETURN NULL;
END;
$$;

-- Row triggers: a statement that changes no row (INSERT … ON CONFLICT DO NOTHING, as every
-- request in proxy mode runs for its user) must not bump the counter.
CREATE TRIGGER launch_images AFTER INSERT OR UPDATE OR DELETE ON images
    FOR EACH ROW EXECUTE FUNCTION bump_launch_version();
CREATE TRIGGER launch_builds AFTER INSERT OR UPDATE OF state ON builds
    FOR EACH ROW EXECUTE FUNCTION bump_launch_version();
CREATE TRIGGER launch_memberships AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION bump_launch_version();
CREATE TRIGGER launch_users AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION bump_launch_version();
CREATE TRIGGER launch_groups AFTER UPDATE OR DELETE ON user_groups
    FOR EACH ROW EXECUTE FUNCTION bump_launch_version();
CREATE TRIGGER launch_credentials AFTER UPDATE OR DELETE ON registry_credentials
    FOR EACH ROW EXECUTE FUNCTION bump_launch_version();
CREATE TRIGGER launch_tokens AFTER INSERT OR UPDATE OR DELETE ON service_tokens
    FOR EACH ROW EXECUTE FUNCTION bump_launch_version();
