-- Registry credentials (image pull secrets), the groups allowed to use each, and images.
-- An image with no group is global. `version` counts edits, for optimistic concurrency.

CREATE TABLE registry_credentials (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    registry   TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    sealed     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE credential_groups (
    credential_id INTEGER NOT NULL REFERENCES registry_credentials (id) ON DELETE CASCADE,
    group_id      INTEGER NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (credential_id, group_id)
);

CREATE TABLE images (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id      INTEGER REFERENCES user_groups (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    image_type    TEXT    NOT NULL CHECK (image_type IN ('cpu', 'gpu', 'universal')),
    url           TEXT    NOT NULL,
    gpu_url       TEXT    NOT NULL,
    credential_id INTEGER REFERENCES registry_credentials (id) ON DELETE RESTRICT,
    search_text   TEXT    NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX images_group_name ON images (group_id, name) WHERE group_id IS NOT NULL;
CREATE UNIQUE INDEX images_global_name ON images (name) WHERE group_id IS NULL;
CREATE INDEX images_by_display_name ON images (group_id, display_name, name);
CREATE INDEX images_by_description ON images (group_id, description, name);
CREATE INDEX images_by_type ON images (group_id, image_type, name);
-- Counting a search's matches reads this index, not the table.
CREATE INDEX images_search ON images (group_id, search_text);
