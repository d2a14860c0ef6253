-- RevocationReplay re-asserts recent revocations in Redis every minute: find them without scanning whole tables.
CREATE INDEX users_sessions_revoked_idx ON users (sessions_revoked_at) WHERE sessions_revoked_at IS NOT NULL;
CREATE INDEX refresh_tokens_revoked_idx ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX api_keys_revoked_idx ON api_keys (revoked_at) WHERE revoked_at IS NOT NULL;
