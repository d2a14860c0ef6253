-- Usage records: one row per AI request, written off the request path in batches (McpServer -> Redis stream ->
-- CoreService), and a daily rollup kept in the same transaction, so analytics read rollups for whole days and raw
-- rows only for the partial days at the edges of a period. Days are UTC days.
--
-- usage_records is partitioned by month of occurred_at: queries over a period touch only its months, and old months
-- can be detached or dropped whole. Partitions are created on demand by usage_store (under an advisory lock, so two
-- replicas never race on one); there is no default partition, so a record never lands where a later partition would
-- have to be carved out of it.
CREATE TABLE usage_records (
    id                 uuid             NOT NULL,
    occurred_at        timestamptz      NOT NULL,
    user_id            uuid             NOT NULL,
    api_key_id         uuid,
    model              text             NOT NULL,
    provider           text             NOT NULL,
    prompt_tokens      integer          NOT NULL,
    completion_tokens  integer          NOT NULL,
    credits            bigint           NOT NULL,
    latency_ms         double precision NOT NULL,
    ttft_ms            double precision,
    status             smallint         NOT NULL,
    cache_hit          boolean          NOT NULL,
    -- A record written twice (a batch retried after a lost reply, or a stream entry re-delivered after a crash) has
    -- the same id and occurred_at, so it meets itself here and is stored once.
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX usage_records_by_user ON usage_records (user_id, occurred_at);
CREATE INDEX usage_records_by_time ON usage_records (occurred_at);

-- "No API key" (a signed-in session) is the zero uuid here, so that it can be part of the primary key.
CREATE TABLE usage_daily (
    day               date             NOT NULL,
    user_id           uuid             NOT NULL,
    api_key_id        uuid             NOT NULL,
    model             text             NOT NULL,
    provider          text             NOT NULL,
    requests          bigint           NOT NULL,
    errors            bigint           NOT NULL,
    cache_hits        bigint           NOT NULL,
    prompt_tokens     bigint           NOT NULL,
    completion_tokens bigint           NOT NULL,
    credits           bigint           NOT NULL,
    latency_ms_sum    double precision NOT NULL,
    ttft_ms_sum       double precision NOT NULL,
    ttft_count        bigint           NOT NULL,
    PRIMARY KEY (day, user_id, api_key_id, model, provider)
);

CREATE INDEX usage_daily_by_user ON usage_daily (user_id, day);

-- Coarser rollups for questions across all users: per user and day (top users, active users) and per model and day
-- (top models). A day of the fine rollup holds a row per user, key and model; these hold one per user or per model.
CREATE TABLE usage_daily_users (
    day               date             NOT NULL,
    user_id           uuid             NOT NULL,
    requests          bigint           NOT NULL,
    errors            bigint           NOT NULL,
    cache_hits        bigint           NOT NULL,
    prompt_tokens     bigint           NOT NULL,
    completion_tokens bigint           NOT NULL,
    credits           bigint           NOT NULL,
    latency_ms_sum    double precision NOT NULL,
    ttft_ms_sum       double precision NOT NULL,
    ttft_count        bigint           NOT NULL,
    PRIMARY KEY (day, user_id)
);

CREATE TABLE usage_daily_models (
    day               date             NOT NULL,
    model             text             NOT NULL,
    provider          text             NOT NULL,
    requests          bigint           NOT NULL,
    errors            bigint           NOT NULL,
    cache_hits        bigint           NOT NULL,
    prompt_tokens     bigint           NOT NULL,
    completion_tokens bigint           NOT NULL,
    credits           bigint           NOT NULL,
    latency_ms_sum    double precision NOT NULL,
    ttft_ms_sum       double precision NOT NULL,
    ttft_count        bigint           NOT NULL,
    PRIMARY KEY (day, model, provider)
);

-- Creates the monthly partitions covering [p_from, p_to] that do not exist yet.
CREATE FUNCTION usage_ensure_partitions(p_from timestamptz, p_to timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    month date := date_trunc('month', p_from AT TIME ZONE 'UTC')::date;
    last  date := date_trunc('month', p_to AT TIME ZONE 'UTC')::date;
    name  text;
BEGIN
    WHILE month <= last LOOP
        name := 'usage_records_' || to_char(month, 'YYYY_MM');
        IF to_regclass(name) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext('usage_records partitions'));
            IF to_regclass(name) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF usage_records FOR VALUES FROM (%L) TO (%L)',
                    name, (month::timestamp AT TIME ZONE 'UTC'), ((month + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            END IF;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
END $$;

-- Stores a batch (column arrays of equal length) and adds what was new to the daily rollups, in one transaction.
-- Returns how many records were new (the rest were duplicates of records stored before).
CREATE FUNCTION usage_store(
    p_id uuid[], p_at timestamptz[], p_user uuid[], p_key uuid[], p_model text[], p_provider text[],
    p_prompt integer[], p_completion integer[], p_credits bigint[], p_latency double precision[],
    p_ttft double precision[], p_status smallint[], p_cache boolean[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    stored integer;
BEGIN
    PERFORM usage_ensure_partitions(min(t), max(t)) FROM unnest(p_at) t;
    WITH new_rows AS (
        INSERT INTO usage_records (id, occurred_at, user_id, api_key_id, model, provider, prompt_tokens,
                                   completion_tokens, credits, latency_ms, ttft_ms, status, cache_hit)
        SELECT * FROM unnest(p_id, p_at, p_user, p_key, p_model, p_provider, p_prompt, p_completion, p_credits,
                             p_latency, p_ttft, p_status, p_cache)
        ON CONFLICT DO NOTHING
        RETURNING *
    ), fine AS (
        SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, user_id,
               coalesce(api_key_id, '00000000-0000-0000-0000-000000000000') AS api_key_id, model, provider,
               count(*) AS requests, count(*) FILTER (WHERE status >= 400) AS errors, count(*) FILTER (WHERE cache_hit) AS cache_hits,
               sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(credits) AS credits,
               sum(latency_ms) AS latency_ms_sum, coalesce(sum(ttft_ms), 0) AS ttft_ms_sum, count(ttft_ms) AS ttft_count
        FROM new_rows
        GROUP BY 1, 2, 3, 4, 5
    ), by_all AS (
        INSERT INTO usage_daily AS d
        SELECT * FROM fine
        -- One order for every writer: two replicas adding to the same rollup rows lock them in the same order.
        ORDER BY day, user_id, api_key_id, model, provider
        ON CONFLICT (day, user_id, api_key_id, model, provider) DO UPDATE SET
            requests = d.requests + EXCLUDED.requests,
            errors = d.errors + EXCLUDED.errors,
            cache_hits = d.cache_hits + EXCLUDED.cache_hits,
            prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens,
            completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens,
            credits = d.credits + EXCLUDED.credits,
            latency_ms_sum = d.latency_ms_sum + EXCLUDED.latency_ms_sum,
            ttft_ms_sum = d.ttft_ms_sum + EXCLUDED.ttft_ms_sum,
            ttft_count = d.ttft_count + EXCLUDED.ttft_count
        RETURNING 1
    ), by_user AS (
        INSERT INTO usage_daily_users AS d
        SELECT day, user_id, sum(requests), sum(errors), sum(cache_hits), sum(prompt_tokens), sum(completion_tokens),
               sum(credits), sum(latency_ms_sum), sum(ttft_ms_sum), sum(ttft_count)
        FROM fine GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (day, user_id) DO UPDATE SET
            requests = d.requests + EXCLUDED.requests,
            errors = d.errors + EXCLUDED.errors,
            cache_hits = d.cache_hits + EXCLUDED.cache_hits,
            prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens,
            completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens,
            credits = d.credits + EXCLUDED.credits,
            latency_ms_sum = d.latency_ms_sum + EXCLUDED.latency_ms_sum,
            ttft_ms_sum = d.ttft_ms_sum + EXCLUDED.ttft_ms_sum,
            ttft_count = d.ttft_count + EXCLUDED.ttft_count
        RETURNING 1
    ), by_model AS (
        INSERT INTO usage_daily_models AS d
        SELECT day, model, provider, sum(requests), sum(errors), sum(cache_hits), sum(prompt_tokens), sum(completion_tokens),
               sum(credits), sum(latency_ms_sum), sum(ttft_ms_sum), sum(ttft_count)
        FROM fine GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (day, model, provider) DO UPDATE SET
            requests = d.requests + EXCLUDED.requests,
            errors = d.errors + EXCLUDED.errors,
            cache_hits = d.cache_hits + EXCLUDED.cache_hits,
            prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens,
            completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens,
            credits = d.credits + EXCLUDED.credits,
            latency_ms_sum = d.latency_ms_sum + EXCLUDED.latency_ms_sum,
            ttft_ms_sum = d.ttft_ms_sum + EXCLUDED.ttft_ms_sum,
            ttft_count = d.ttft_count + EXCLUDED.ttft_count
        RETURNING 1
    )
    SELECT count(*) INTO stored FROM new_rows;
    RETURN stored;
END $$;
