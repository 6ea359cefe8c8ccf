-- A disabled user can't sign in, and their sessions and tokens stop at their next request
-- on every replica (users' triggers bump launch_version, which token answers are kept by).
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
