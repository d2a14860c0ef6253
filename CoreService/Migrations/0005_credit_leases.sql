-- Credit leases (McpServer holds one reservation for many of a user's requests; see McpServer/README.md). A usage record
-- names the reservation that paid for it, so a reservation its holder never settled (McpServer killed while holding a
-- lease) is charged at expiry with what its requests cost, from their usage records, instead of being released: a
-- crashed replica loses no credits for answers already given. Only records stored by then count (the reservation's
-- timeout, minutes, leaves the usage stream ample time).

ALTER TABLE usage_records ADD COLUMN reservation_id uuid;

-- usage_store exactly as in 0004_usage.sql but for p_reservation (a function is replaced whole, not patched).
DROP FUNCTION usage_store(uuid[], timestamptz[], uuid[], uuid[], text[], text[], integer[], integer[], bigint[],
                          double precision[], double precision[], smallint[], boolean[]);

CREATE FUNCTION usage_store(
    p_id uuid[], p_at timestamptz[], p_user uuid[], p_key uuid[], p_model text[], p_provider text[],
    p_prompt integer[], p_completion integer[], p_credits bigint[], p_latency double precision[],
    p_ttft double precision[], p_status smallint[], p_cache boolean[], p_reservation uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    stored integer;
BEGIN
    PERFORM usage_ensure_partitions(min(t), max(t)) FROM unnest(p_at) t;
    WITH new_rows AS (
        INSERT INTO usage_records (id, occurred_at, user_id, api_key_id, model, provider, prompt_tokens,
                                   completion_tokens, credits, latency_ms, ttft_ms, status, cache_hit, reservation_id)
        SELECT * FROM unnest(p_id, p_at, p_user, p_key, p_model, p_provider, p_prompt, p_completion, p_credits,
                             p_latency, p_ttft, p_status, p_cache, p_reservation)
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

-- The expiry job: settles up to p_limit held reservations due at p_now, each in the lock order of 0002_credits.sql.
-- One whose usage records cost something is captured for that (at most its amount); any other is released.
-- Returns how many were due and how many it settled (another replica may have settled some); run again while examined
-- equals p_limit. Replicas may run it concurrently.
CREATE OR REPLACE FUNCTION credits_expire_due(p_now timestamptz, p_limit int, OUT examined int, OUT released int)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    due  record;
    used bigint;
BEGIN
    examined := 0;
    released := 0;
    FOR due IN
        SELECT x.id, x.user_id, x.amount, x.created_at FROM credit_reservations x
        WHERE x.status = 'held' AND x.expires_at <= p_now
        ORDER BY x.user_id, x.id
        LIMIT p_limit
    LOOP
        examined := examined + 1;
        -- Records start after their reservation (minutes of margin for the clocks of McpServer and CoreService).
        SELECT coalesce(sum(u.credits), 0) INTO used FROM usage_records u
        WHERE u.user_id = due.user_id AND u.occurred_at >= due.created_at - interval '10 minutes' AND u.reservation_id = due.id;
        IF used > 0 THEN
            IF (SELECT x.outcome FROM credits_capture(due.id, least(used, due.amount), p_now, 'system:expiry') x) = 'captured' THEN
                released := released + 1;
            END IF;
        ELSIF (SELECT x.outcome FROM credits_release(due.id, true, p_now, 'system:expiry') x) = 'released' THEN
            released := released + 1;
        END IF;
    END LOOP;
END $$;
