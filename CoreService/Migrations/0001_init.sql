-- Starter schema of coredb. Credits, usage and monitoring tables come with their own migrations.
CREATE TABLE service_info (
    key        text        PRIMARY KEY,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO service_info (key, value) VALUES ('service', 'core');
