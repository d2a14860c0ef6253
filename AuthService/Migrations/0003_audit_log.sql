-- Security audit trail: logins (success, failure, lockout), keys created/revoked, role changes, users disabled,
-- refresh-token reuse. ip: the connection's address, or the first X-Forwarded-For entry when the connection comes
-- from a loopback/private address (the gateway).
CREATE TABLE audit_log (
    id         bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL,
    type       text        NOT NULL,
    actor_id   uuid,
    subject_id uuid,
    ip         inet,
    user_agent text,
    details    jsonb       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_log_type_idx ON audit_log (type, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id DESC) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_subject_idx ON audit_log (subject_id, id DESC) WHERE subject_id IS NOT NULL;
