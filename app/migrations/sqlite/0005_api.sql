-- Service tokens for scripts and launch pages, and the change counter of launchable images.

-- A token is shown once; only its SHA-256 is kept. Revoked tokens stay on record (revoked_at
-- set), so a name can be used again only once its token is revoked.
CREATE TABLE service_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    scope      TEXT    NOT NULL CHECK (scope IN ('read', 'write')),
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX service_tokens_live_name ON service_tokens (name) WHERE revoked_at IS NULL;

-- Bumped by every change that can change anybody's launchable images or what a service
-- token speaks for: images, builds' states, memberships, users, groups, credentials and
-- tokens. Launch lists and token answers are remembered against it, so every replica
-- answers with the current ones (a revoked token stops at once).
CREATE TABLE launch_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO launch_version (id, version) VALUES (1, 0);

CREATE TRIGGER launch_images_inserted AFTER INSERT ON images BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_images_updated AFTER UPDATE ON images BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_images_deleted AFTER DELETE ON images BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_builds_inserted AFTER INSERT ON builds BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_builds_state AFTER UPDATE OF state ON builds BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_memberships_inserted AFTER INSERT ON memberships BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_memberships_updated AFTER UPDATE ON memberships BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_memberships_deleted AFTER DELETE ON memberships BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_users_inserted AFTER INSERT ON users BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_users_updated AFTER UPDATE ON users BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_users_deleted AFTER DELETE ON users BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_groups_updated AFTER UPDATE ON user_groups BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_groups_deleted AFTER DELETE ON user_groups BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_credentials_updated AFTER UPDATE ON registry_credentials BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_credentials_deleted AFTER DELETE ON registry_credentials BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_tokens_inserted AFTER INSERT ON service_tokens BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_tokens_updated AFTER UPDATE ON service_tokens BEGIN
    UPDATE launch_version SET version = version + 1;
END;
CREATE TRIGGER launch_tokens_deleted AFTER DELETE ON service_tokens BEGIN
    UPDATE launch_version SET version = version + 1;
END;
