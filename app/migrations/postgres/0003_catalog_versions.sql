-- A change counter per catalog (a group's images, or the global ones as scope 0), bumped by a
-- trigger on every insert, update and delete of an image. Kiln remembers how many images a
-- search matches together with the counter it read; a different counter means recount.

CREATE TABLE catalog_versions (
    scope_id BIGINT PRIMARY KEY,
    version  BIGINT NOT NULL
);

CREATE FUNCTION bump_catalog_version(scope BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO catalog_versions (scope_id, version) VALUES (COALESCE(scope, 0), 1)
    ON CONFLICT (scope_id) DO UPDATE SET version = catalog_versions.version + 1;
$$;

CREATE FUNCTION images_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM bump_catalog_version(OLD.group_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM bump_catalog_version(NEW.group_id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER images_changed AFTER INSERT OR UPDATE OR DELETE ON images
    FOR EACH ROW EXECUTE FUNCTION images_changed();
