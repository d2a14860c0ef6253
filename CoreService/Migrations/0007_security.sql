-- CSP violation reports sent by browsers to POST /api/v1/security/csp-report (anonymous, rate limited per client IP
-- at the gateway, at most 64 KiB per request): one row per violation, from either report format. CoreService cuts
-- long fields before they get here (URLs 2048 characters, the policy 4096, the sample 256, the user agent 512) and
-- stores http(s)/ws(s) URLs without their user info, query string and fragment, which can carry tokens.
--
-- Bounded: the retention job (CspViolationRetention) deletes, every Security:RetentionInterval (5 min), the rows older
-- than Security:ViolationRetentionDays (30) and all but the newest Security:MaxStoredViolations (100,000), so a flood
-- of reports costs at most that many rows.
CREATE TABLE csp_violations (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at         timestamptz NOT NULL,
    report_format       text        NOT NULL CHECK (report_format IN ('csp-report', 'reports+json')),
    document_uri        text        NOT NULL,
    blocked_uri         text,
    effective_directive text        NOT NULL,
    violated_directive  text,
    original_policy     text,
    disposition         text,
    referrer            text,
    status_code         integer,
    source_file         text,
    line_number         bigint,
    column_number       bigint,
    sample              text,
    -- Reporting API only: how long the browser held the report before sending it (ms).
    age_ms              bigint,
    user_agent          text,
    -- The X-Correlation-ID of the request that brought the report (the gateway's, or the caller's when valid).
    correlation_id      text
);

-- Recent violations (the status's count over a window, the retention by age) and the list filtered by directive.
CREATE INDEX csp_violations_received_at ON csp_violations (received_at);
CREATE INDEX csp_violations_directive ON csp_violations (effective_directive, id);
