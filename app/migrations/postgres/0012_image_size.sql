-- The compressed size of a built image (its manifest's config and layers, in bytes), read
-- from the registry after the push or when an existing image is reused; the image keeps the
-- size of the build its URL names. NULL where Kiln does not know it (registered images,
-- builds from before this column).
ALTER TABLE builds ADD COLUMN compressed_size BIGINT;
ALTER TABLE images ADD COLUMN compressed_size BIGINT;
CREATE INDEX images_by_size ON images (group_id, compressed_size NULLS FIRST, name);
