-- Response times: the gateway's samples (one per proxied request, Gateway/ResponseTime), stored by CoreService's
-- ResponseTimeIngestor from the Redis stream telemetry:response-times.
--
-- response_time_samples keeps every sample (for the daily baselines, which are exact, and for finding one slow request
-- by its correlation id), partitioned by UTC day so retention drops whole partitions. response_time_rollups holds what
-- the monitoring API reads: per minute, hour and day (grain 'm', 'h', 'd'), per endpoint, the count, errors, samples
-- over the endpoint's SLA threshold, the sum and maximum, and a log-scale histogram (ResponseTimeHistogram: bucket i
-- holds durations up to 0.1 ms x 1.1^i, so percentiles read from it are within 5% of the exact value). An API query
-- reads at most a few thousand rollup rows whatever the number of samples.

CREATE TABLE response_time_samples (
    at             timestamptz      NOT NULL,
    service        text             NOT NULL,
    method         text             NOT NULL,
    endpoint       text             NOT NULL,
    path           text             NOT NULL,
    status         smallint         NOT NULL,
    duration_ms    double precision NOT NULL,
    tier           text             NOT NULL,
    threshold_ms   integer          NOT NULL,
    correlation_id text
) PARTITION BY RANGE (at);

-- Exactly once: a batch (the gateway's stream entry) is stored with its samples in one transaction; a batch id seen
-- before (the gateway retried an XADD whose reply was lost, or an entry was delivered again after a crash) is skipped.
CREATE TABLE response_time_batches (
    batch_id  text        PRIMARY KEY,
    stored_at timestamptz NOT NULL
);

CREATE INDEX response_time_batches_by_time ON response_time_batches (stored_at);

CREATE TABLE response_time_rollups (
    grain         "char"           NOT NULL,
    bucket        timestamptz      NOT NULL,
    service       text             NOT NULL,
    method        text             NOT NULL,
    endpoint      text             NOT NULL,
    tier          text             NOT NULL,
    threshold_ms  integer          NOT NULL,
    count         bigint           NOT NULL,
    errors        bigint           NOT NULL,
    client_errors bigint           NOT NULL,
    slow          bigint           NOT NULL,
    sum_ms        double precision NOT NULL,
    max_ms        double precision NOT NULL,
    histogram     integer[]        NOT NULL,
    PRIMARY KEY (grain, bucket, service, method, endpoint)
);

CREATE TABLE response_time_statuses (
    grain    "char"      NOT NULL,
    bucket   timestamptz NOT NULL,
    service  text        NOT NULL,
    method   text        NOT NULL,
    endpoint text        NOT NULL,
    status   smallint    NOT NULL,
    count    bigint      NOT NULL,
    PRIMARY KEY (grain, bucket, service, method, endpoint, status)
);

-- The daily baseline job: exact percentiles of one UTC day's samples per endpoint.
CREATE TABLE performance_baselines (
    day         date             NOT NULL,
    service     text             NOT NULL,
    method      text             NOT NULL,
    endpoint    text             NOT NULL,
    count       bigint           NOT NULL,
    p50_ms      double precision NOT NULL,
    p90_ms      double precision NOT NULL,
    p95_ms      double precision NOT NULL,
    p99_ms      double precision NOT NULL,
    avg_ms      double precision NOT NULL,
    computed_at timestamptz      NOT NULL,
    PRIMARY KEY (day, service, method, endpoint)
);

CREATE FUNCTION histogram_add(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;

CREATE FUNCTION response_time_ensure_partitions(p_from timestamptz, p_to timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    day  date := (p_from AT TIME ZONE 'UTC')::date;
    last date := (p_to AT TIME ZONE 'UTC')::date;
    name text;
BEGIN
    WHILE day <= last LOOP
        name := 'response_time_samples_' || to_char(day, 'YYYY_MM_DD');
        IF to_regclass(name) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext('response_time_samples partitions'));
            IF to_regclass(name) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF response_time_samples FOR VALUES FROM (%L) TO (%L)',
                    name, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            END IF;
        END IF;
        day := day + 1;
    END LOOP;
END $$;

-- Adds rollup rows (column arrays of equal length; p_histogram holds each row's p_width buckets one after another),
-- in key order, so that two replicas adding to the same rows lock them in the same order.
CREATE FUNCTION response_time_add_rollups(
    p_grain text[], p_bucket timestamptz[], p_service text[], p_method text[], p_endpoint text[], p_tier text[],
    p_threshold integer[], p_count bigint[], p_errors bigint[], p_client_errors bigint[], p_slow bigint[],
    p_sum double precision[], p_max double precision[], p_histogram integer[], p_width integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO response_time_rollups AS r
    SELECT g::"char", b, s, m, e, t, th, c, er, ce, sl, su, mx, p_histogram[(o - 1) * p_width + 1 : o * p_width]
    FROM unnest(p_grain, p_bucket, p_service, p_method, p_endpoint, p_tier, p_threshold, p_count, p_errors,
                p_client_errors, p_slow, p_sum, p_max) WITH ORDINALITY AS x(g, b, s, m, e, t, th, c, er, ce, sl, su, mx, o)
    ORDER BY g, b, s, m, e
    ON CONFLICT (grain, bucket, service, method, endpoint) DO UPDATE SET
        tier = EXCLUDED.tier,
        threshold_ms = EXCLUDED.threshold_ms,
        count = r.count + EXCLUDED.count,
        errors = r.errors + EXCLUDED.errors,
        client_errors = r.client_errors + EXCLUDED.client_errors,
        slow = r.slow + EXCLUDED.slow,
        sum_ms = r.sum_ms + EXCLUDED.sum_ms,
        max_ms = greatest(r.max_ms, EXCLUDED.max_ms),
        histogram = histogram_add(r.histogram, EXCLUDED.histogram)
$$;

CREATE FUNCTION response_time_add_statuses(
    p_grain text[], p_bucket timestamptz[], p_service text[], p_method text[], p_endpoint text[], p_status smallint[],
    p_count bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO response_time_statuses AS r
    SELECT g::"char", b, s, m, e, st, c
    FROM unnest(p_grain, p_bucket, p_service, p_method, p_endpoint, p_status, p_count) AS x(g, b, s, m, e, st, c)
    ORDER BY g, b, s, m, e, st
    ON CONFLICT (grain, bucket, service, method, endpoint, status) DO UPDATE SET count = r.count + EXCLUDED.count
$$;
