-- A change counter per catalog (a group's images, or the global ones as scope 0), bumped by
-- triggers on every insert, update and delete of an image. Kiln remembers how many images a
-- search matches together with the counter it read; a different counter means recount.

CREATE TABLE catalog_versions (
    scope_id INTEGER PRIMARY KEY,
    version  INTEGER NOT NULL
);

CREATE TRIGGER images_inserted AFTER INSERT ON images BEGIN
    INSERT INTO catalog_versions (scope_id, version) VALUES (COALESCE(NEW.group_id, 0), 1)
    ON CONFLICT (scope_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER images_updated AFTER UPDATE ON images BEGIN
    INSERT INTO catalog_versions (scope_id, version) VALUES (COALESCE(OLD.group_id, 0), 1)
    ON CONFLICT (scope_id) DO UPDATE SET version = version + 1;
    INSERT INTO catalog_versions (scope_id, version) VALUES (COALESCE(NEW.group_id, 0), 1)
    ON CONFLICT (scope_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER images_deleted AFTER DELETE ON images BEGIN
    INSERT INTO catalog_versions (scope_id, version) VALUES (COALESCE(OLD.group_id, 0), 1)
    ON CONFLICT (scope_id) DO UPDATE SET version = version + 1;
END;
