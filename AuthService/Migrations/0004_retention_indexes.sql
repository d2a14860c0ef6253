-- Hourly retention (DataRetention) deletes old audit entries and expired refresh tokens in batches.
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
