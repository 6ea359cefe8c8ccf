-- Base-image updates. `base_digest`: the digest of the base image that the build the URL
-- names was built on (set with the URL). `base_latest`: the digest the base image's tag
-- pointed to at the last check, `base_checked_at` when that was (ms since the epoch) and
-- `base_check_error` why it failed ('' when it didn't). The image's base is updated when
-- both digests are known and differ. `auto_rebuild`: queue a rebuild when it is.
ALTER TABLE images ADD COLUMN base_digest TEXT;
ALTER TABLE images ADD COLUMN base_latest TEXT;
ALTER TABLE images ADD COLUMN base_checked_at BIGINT;
ALTER TABLE images ADD COLUMN base_check_error TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN auto_rebuild INTEGER NOT NULL DEFAULT 0;
UPDATE images SET base_digest = (
    SELECT b.base_digest FROM builds b
    WHERE b.image_id = images.id AND b.state = 'succeeded' AND b.target = images.url
    ORDER BY b.id DESC LIMIT 1
) WHERE source = 'build' AND url <> '';
-- The leader's pass reads the built images checked longest ago first.
CREATE INDEX images_by_base_check ON images (source, base_checked_at);
