-- Starter schema of authdb. The identity schema (users, keys, tokens) comes with its own migrations.
CREATE TABLE service_info (
    key        text        PRIMARY KEY,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO service_info (key, value) VALUES ('service', 'auth');
