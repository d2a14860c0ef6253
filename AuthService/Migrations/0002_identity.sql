-- Identity: roles and permissions, users, refresh tokens, API keys, signing keys.
-- Times are written by the service (TimeProvider), not now(), so tests can control them.

CREATE TABLE roles (
    name        text PRIMARY KEY,
    description text NOT NULL
);

CREATE TABLE permissions (
    name        text PRIMARY KEY,
    description text NOT NULL
);

CREATE TABLE role_permissions (
    role       text NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    permission text NOT NULL REFERENCES permissions (name) ON DELETE CASCADE,
    PRIMARY KEY (role, permission)
);

INSERT INTO roles (name, description) VALUES
    ('admin',   'Everything: users, roles, keys of everyone, credits, monitoring'),
    ('manager', 'Monitoring, system status, granting credits, chat'),
    ('user',    'Chat (the role of every new account)');

INSERT INTO permissions (name, description) VALUES
    ('monitoring:read', 'Read usage, response times and SLA data'),
    ('system:read',     'Read system and security status'),
    ('users:manage',    'List users, change roles, disable users, read the audit log'),
    ('credits:grant',   'Grant credits to accounts'),
    ('keys:manage',     'Manage API keys of any user'),
    ('chat:use',        'Use chat completions and MCP tools');

INSERT INTO role_permissions (role, permission)
SELECT 'admin', name FROM permissions;

INSERT INTO role_permissions (role, permission) VALUES
    ('manager', 'monitoring:read'),
    ('manager', 'system:read'),
    ('manager', 'credits:grant'),
    ('manager', 'chat:use'),
    ('user',    'chat:use');

CREATE TABLE users (
    id                  uuid        PRIMARY KEY,
    -- Normalized by the service (trimmed, lower-case invariant), so uniqueness is case-insensitive.
    email               text        NOT NULL,
    display_name        text,
    password_hash       text        NOT NULL,
    created_at          timestamptz NOT NULL,
    disabled_at         timestamptz,
    failed_login_count  integer     NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    last_login_at       timestamptz,
    -- Access tokens issued at or before this second are rejected (mirrored in Redis auth:user-revoked:{id}).
    sessions_revoked_at timestamptz,
    -- Bumped whenever what the user may do changes (roles, disabled): guards API-key identities cached in Redis.
    security_stamp      bigint      NOT NULL DEFAULT 0,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_length CHECK (length(email) BETWEEN 3 AND 254)
);

CREATE TABLE user_roles (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    text NOT NULL REFERENCES roles (name),
    PRIMARY KEY (user_id, role)
);

CREATE INDEX user_roles_role_idx ON user_roles (role);

-- Opaque refresh tokens, stored as SHA-256. One family per login; each use rotates the token (parent → child);
-- presenting a used token again revokes the whole family.
CREATE TABLE refresh_tokens (
    id         uuid        PRIMARY KEY,
    token_hash bytea       NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  uuid        NOT NULL,
    parent_id  uuid,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_active_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;

-- API keys: SHA-256 (hex) of the full key (256 random bits, so a fast hash is enough) and the visible prefix.
CREATE TABLE api_keys (
    id                    uuid        PRIMARY KEY,
    user_id               uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                  text        NOT NULL,
    prefix                text        NOT NULL,
    key_hash              text        NOT NULL,
    scopes                text[]      NOT NULL,
    rate_limit_per_second integer,
    created_at            timestamptz NOT NULL,
    expires_at            timestamptz,
    last_used_at          timestamptz,
    revoked_at            timestamptz,
    CONSTRAINT api_keys_hash_key UNIQUE (key_hash)
);

CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at);

-- ES256 signing keys. The private key (PKCS#8) is sealed with AES-256-GCM (key derived from Auth:KeyEncryptionKey,
-- kid as associated data). activates_at: first use for signing; retires_at: last; expires_at: no longer published
-- in the JWKS (retires_at + access-token lifetime + clock skew).
CREATE TABLE signing_keys (
    kid                    text        PRIMARY KEY,
    algorithm              text        NOT NULL,
    public_jwk             jsonb       NOT NULL,
    private_key_ciphertext bytea       NOT NULL,
    private_key_nonce      bytea       NOT NULL,
    private_key_tag        bytea       NOT NULL,
    created_at             timestamptz NOT NULL,
    activates_at           timestamptz NOT NULL,
    retires_at             timestamptz NOT NULL,
    expires_at             timestamptz NOT NULL,
    CONSTRAINT signing_keys_window CHECK (activates_at < retires_at AND retires_at <= expires_at)
);

CREATE INDEX signing_keys_expires_idx ON signing_keys (expires_at);
