-- Retention (KILN_AUDIT_RETENTION_DAYS, KILN_BUILD_LOG_RETENTION_DAYS). The audit log stays
-- append-only except for entries older than the cutoff a retention pass records here
-- first; a build whose log was removed says when.
CREATE TABLE retention (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    audit_before BIGINT  NOT NULL
);
INSERT INTO retention (id, audit_before) VALUES (1, 0);

CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < (SELECT audit_before FROM retention WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;

ALTER TABLE builds ADD COLUMN log_removed_at BIGINT;
