-- Several replicas: a cancel asked of any replica reaches the leader through the row, and
-- a Kubernetes build's log resumes after a hand-over from the last pod log line stored.
ALTER TABLE builds ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE builds ADD COLUMN log_cursor TEXT NOT NULL DEFAULT '';
