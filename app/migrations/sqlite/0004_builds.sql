-- Custom images and their builds. A built image's `url` stays '' until its first build
-- succeeds, and then keeps the last successful image until a newer build succeeds.
ALTER TABLE images ADD COLUMN source TEXT NOT NULL DEFAULT 'existing' CHECK (source IN ('existing', 'build'));

CREATE TABLE builds (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id         INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    group_id         INTEGER REFERENCES user_groups (id) ON DELETE CASCADE,
    revision         INTEGER NOT NULL,
    spec             TEXT    NOT NULL,
    image_type       TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    reason           TEXT    NOT NULL DEFAULT '',
    message          TEXT    NOT NULL DEFAULT '',
    step             INTEGER NOT NULL DEFAULT 0,
    steps            INTEGER NOT NULL,
    base_digest      TEXT    NOT NULL,
    base_user        TEXT    NOT NULL DEFAULT '',
    target           TEXT    NOT NULL,
    reused           INTEGER NOT NULL DEFAULT 0,
    installed        TEXT    NOT NULL DEFAULT '',
    created_by       TEXT    NOT NULL,
    queued_at        INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    UNIQUE (image_id, revision)
);
CREATE INDEX builds_by_state ON builds (state, id);
CREATE INDEX builds_by_image ON builds (image_id, id);

-- A build's log as it arrived, in order.
CREATE TABLE build_log_chunks (
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    lines    INTEGER NOT NULL,
    text     TEXT    NOT NULL,
    PRIMARY KEY (build_id, seq)
);
