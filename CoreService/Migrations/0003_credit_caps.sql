-- Setting monthly spending caps. credits_reserve (0002) enforces them: a user's cap on credit_accounts.monthly_cap, an
-- API key's as a row of credit_key_caps. Like the other operations, each change is one function call (one transaction)
-- that locks the account row first, so no reserve, capture or release of that account runs beside it.
-- A cap is a whole number of credits from 1 to 10^12 (CreditsOptions.MaxAmount), or null for none. The range is checked
-- here rather than by a CHECK constraint, which would be evaluated on every write of the hot reserve/capture path.

-- outcome: applied | no_account. Returns the cap and the user's spending this month (captures) and held credits
-- (open reservations): what credits_reserve compares to the cap.
CREATE FUNCTION credits_set_user_cap(p_user uuid, p_cap bigint, p_now timestamptz)
RETURNS TABLE (outcome text, monthly_cap bigint, month_spent bigint, held bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    a credit_accounts%ROWTYPE;
BEGIN
    IF p_cap < 1 OR p_cap > 1000000000000 THEN
        RAISE EXCEPTION 'a monthly cap is 1 to 10^12 credits or null, not %', p_cap USING ERRCODE = 'check_violation';
    END IF;

    UPDATE credit_accounts x SET monthly_cap = p_cap, updated_at = p_now WHERE x.user_id = p_user RETURNING * INTO a;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_account', NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;

    RETURN QUERY SELECT 'applied', a.monthly_cap, CASE WHEN a.spent_month = credits_month(p_now) THEN a.month_spent ELSE 0 END, a.reserved;
END $$;

-- What an API key has spent in p_now's UTC month (the charges of its captures) and what it holds (its held
-- reservations), from the ledger itself: the counters of credit_key_caps start from these when a cap is first set.
-- There is no index of credit_entries by key: credit_entries is append-heavy and every index costs the hot
-- reserve/capture path, for a computation that runs only when a key gets a cap. Instead this walks the account's
-- entries newest first (credit_entries_by_user) and stops at the first one from more than a day before the month began.
-- An account's entries are written under its lock, so their ids follow the order of the calls; created_at is the
-- caller's clock at the call, which trails that order by a lock wait plus the replicas' clock skew (seconds, not a
-- day). The walk reads the account's entries of this month (and its last day before); the filter runs in the executor,
-- so only the key's captures and the stopping entry reach the loop. Held reservations are few (in flight, at most a
-- day old) and come from the partial index of held ones (credit_reservations_due).
CREATE FUNCTION credits_key_usage(p_user uuid, p_key uuid, p_now timestamptz, OUT month_spent bigint, OUT held bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    month_start timestamptz := credits_month(p_now)::timestamp AT TIME ZONE 'UTC';
    month_end   timestamptz := (credits_month(p_now) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    stop_before timestamptz := month_start - interval '1 day';
    e           record;
BEGIN
    month_spent := 0;
    FOR e IN
        SELECT x.amount, x.created_at FROM credit_entries x
        WHERE x.user_id = p_user
          AND (x.created_at < stop_before OR (x.kind = 'capture' AND x.api_key_id = p_key))
        ORDER BY x.id DESC
    LOOP
        EXIT WHEN e.created_at < stop_before;
        IF e.created_at >= month_start AND e.created_at < month_end THEN
            month_spent := month_spent - e.amount;
        END IF;
    END LOOP;

    SELECT coalesce(sum(x.amount), 0)::bigint INTO held FROM credit_reservations x
    WHERE x.status = 'held' AND x.user_id = p_user AND x.api_key_id = p_key;
END $$;

-- Sets (p_cap > 0) or removes (null) the cap of one API key of p_user. A new cap starts its counters from the ledger
-- (credits_key_usage), under the account lock, so no reservation or capture of the account can slip between the count
-- and the row; a changed cap keeps the counters it has (capture and release maintain them); null deletes the row.
-- outcome: applied | cleared | no_account. Returns the key's cap, spending this month and held credits (null when
-- cleared).
CREATE FUNCTION credits_set_key_cap(p_user uuid, p_key uuid, p_cap bigint, p_now timestamptz)
RETURNS TABLE (outcome text, monthly_cap bigint, month_spent bigint, held bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    month date := credits_month(p_now);
    k     credit_key_caps%ROWTYPE;
    usage record;
BEGIN
    IF p_cap < 1 OR p_cap > 1000000000000 THEN
        RAISE EXCEPTION 'a monthly cap is 1 to 10^12 credits or null, not %', p_cap USING ERRCODE = 'check_violation';
    END IF;

    PERFORM 1 FROM credit_accounts x WHERE x.user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_account', NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;

    IF p_cap IS NULL THEN
        DELETE FROM credit_key_caps x WHERE x.user_id = p_user AND x.api_key_id = p_key;
        RETURN QUERY SELECT 'cleared', NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;

    UPDATE credit_key_caps x SET monthly_cap = p_cap, updated_at = p_now
    WHERE x.user_id = p_user AND x.api_key_id = p_key
    RETURNING * INTO k;
    IF NOT FOUND THEN
        SELECT * INTO usage FROM credits_key_usage(p_user, p_key, p_now);
        INSERT INTO credit_key_caps AS x (user_id, api_key_id, monthly_cap, spent_month, month_spent, held, updated_at)
        VALUES (p_user, p_key, p_cap, month, usage.month_spent, usage.held, p_now)
        RETURNING * INTO k;
    END IF;

    RETURN QUERY SELECT 'applied', k.monthly_cap, CASE WHEN k.spent_month = month THEN k.month_spent ELSE 0 END, k.held;
END $$;
