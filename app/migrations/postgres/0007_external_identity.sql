-- Accounts whose identity provider owns them (proxy or OpenID Connect; source 'proxy'):
-- the provider's subject the account is bound to, whether the provider made them a system
-- admin, and when the provider last confirmed their groups (a token bound to them acts
-- with those groups only for KILN_EXTERNAL_GROUPS_TTL after it).
ALTER TABLE users ADD COLUMN external_subject TEXT;
ALTER TABLE users ADD COLUMN provider_admin BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN groups_confirmed_at BIGINT;
CREATE UNIQUE INDEX users_external_subject ON users (external_subject);
