-- When an image's base image was last checked, and why that check failed ('' when it
-- didn't), kept apart from the image: a check writes them every time, and a write to
-- `images` bumps the catalog and launch counters, so every launch page's remembered
-- answer would be dropped on each check. The digest a check finds (`images.base_latest`)
-- stays on the image: it changes what launch pages show, and is written only when it moves.
CREATE TABLE base_checks (
    image_id   INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    checked_at BIGINT NOT NULL,
    error      TEXT NOT NULL DEFAULT ''
);
INSERT INTO base_checks (image_id, checked_at, error)
    SELECT id, base_checked_at, base_check_error FROM images WHERE base_checked_at IS NOT NULL;
DROP INDEX images_by_base_check;
ALTER TABLE images DROP COLUMN base_checked_at;
ALTER TABLE images DROP COLUMN base_check_error;
-- The leader's pass reads the built images checked longest ago first.
CREATE INDEX base_checks_by_time ON base_checks (checked_at);
