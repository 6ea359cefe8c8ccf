-- An image's life after it is published. Deprecated: still offered, with a note, perhaps a
-- successor (an image of the same group, or a global one) and a date it retires on. Retired
-- (now, or once `retire_at` has passed): no longer offered to launch, kept in the catalog
-- with its builds. Restore clears all four. Times in milliseconds since the epoch.
ALTER TABLE images ADD COLUMN deprecated_at INTEGER;
ALTER TABLE images ADD COLUMN successor_id INTEGER REFERENCES images (id) ON DELETE SET NULL;
ALTER TABLE images ADD COLUMN retire_at INTEGER;
ALTER TABLE images ADD COLUMN retired_at INTEGER;
