-- Retention (KILN_AUDIT_RETENTION_DAYS, KILN_BUILD_LOG_RETENTION_DAYS). The audit log stays
-- append-only except for entries older than the cutoff a retention pass records here
-- first; a build whose log was removed says when.
CREATE TABLE retention (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    audit_before INTEGER NOT NULL
);
INSERT INTO retention (id, audit_before) VALUES (1, 0);

DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.at >= (SELECT audit_before FROM retention WHERE id = 1)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

ALTER TABLE builds ADD COLUMN log_removed_at INTEGER;
