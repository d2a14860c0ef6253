-- Credits ledger. Credits are integers. An account's balance and reserved amount change only together with an
-- immutable entry in credit_entries, in the same transaction, so for every account at all times:
--   balance  = sum(credit_entries.amount)           (credits owned; captures take them away)
--   reserved = sum(credit_entries.reserved_change)   (held by open reservations) = sum(held reservations' amounts)
-- available = balance - reserved is what a new reservation may take. Every operation is one function call (one round
-- trip, one transaction); each locks the account row first, then the reservation, so operations never deadlock.
-- credit_entries and credit_reservations carry no foreign key to credit_accounts: only these functions write them, and
-- each has locked the account row first. (The foreign-key triggers cost ~10% of the ledger's throughput.)

-- Enums rather than CHECK (x IN (...)): a CHECK constraint is re-read and evaluated on every insert and update,
-- which measured as ~7% of the ledger's CPU.
CREATE TYPE credit_entry_kind AS ENUM ('grant', 'reserve', 'capture', 'release', 'adjustment');
CREATE TYPE credit_reservation_status AS ENUM ('held', 'captured', 'released', 'expired', 'refused');
CREATE TYPE credit_refusal AS ENUM ('insufficient_credits', 'user_monthly_cap', 'key_monthly_cap');

CREATE TABLE credit_accounts (
    user_id     uuid        PRIMARY KEY,
    balance     bigint      NOT NULL,
    reserved    bigint      NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    monthly_cap bigint      CHECK (monthly_cap > 0),
    -- Captured in the calendar month (UTC) starting spent_month; reset when a capture lands in a later month.
    spent_month date        NOT NULL,
    month_spent bigint      NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE credit_entries (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         uuid        NOT NULL,
    kind            credit_entry_kind NOT NULL,
    amount          bigint      NOT NULL,
    reserved_change bigint      NOT NULL,
    balance_after   bigint      NOT NULL,
    reserved_after  bigint      NOT NULL,
    reservation_id  uuid,
    api_key_id      uuid,
    idempotency_key text        NOT NULL UNIQUE,
    actor           text        NOT NULL,
    reason          text        NOT NULL,
    created_at      timestamptz NOT NULL
);

CREATE INDEX credit_entries_by_user ON credit_entries (user_id, id DESC);

CREATE FUNCTION credit_entries_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_entries are immutable: correct a balance with an adjustment entry' USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER credit_entries_no_update BEFORE UPDATE OR DELETE ON credit_entries
    FOR EACH ROW EXECUTE FUNCTION credit_entries_immutable();
CREATE TRIGGER credit_entries_no_truncate BEFORE TRUNCATE ON credit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION credit_entries_immutable();

CREATE TABLE credit_reservations (
    id         uuid        PRIMARY KEY,
    request_id text        NOT NULL UNIQUE,
    user_id    uuid        NOT NULL,
    api_key_id uuid,
    amount     bigint      NOT NULL,
    status     credit_reservation_status NOT NULL,
    refusal    credit_refusal,
    captured   bigint,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    settled_at timestamptz
);

CREATE INDEX credit_reservations_due ON credit_reservations (expires_at) WHERE status = 'held';

-- Monthly caps of API keys (a user's own cap is on credit_accounts). month_spent and held are kept only for keys with
-- a cap; setting a cap computes them from the entries and reservations.
CREATE TABLE credit_key_caps (
    user_id     uuid        NOT NULL REFERENCES credit_accounts (user_id),
    api_key_id  uuid        NOT NULL,
    monthly_cap bigint      NOT NULL CHECK (monthly_cap > 0),
    spent_month date        NOT NULL,
    month_spent bigint      NOT NULL DEFAULT 0,
    held        bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, api_key_id)
);

CREATE FUNCTION credits_month(p_now timestamptz) RETURNS date LANGUAGE sql IMMUTABLE AS $$
    SELECT date_trunc('month', p_now AT TIME ZONE 'UTC')::date
$$;

-- Opens an account with its signup grant, once: a second call (or a concurrent one) changes nothing.
CREATE FUNCTION credits_open_account(p_user uuid, p_grant bigint, p_now timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credit_accounts (user_id, balance, reserved, spent_month, month_spent, created_at, updated_at)
    VALUES (p_user, p_grant, 0, credits_month(p_now), 0, p_now, p_now)
    ON CONFLICT (user_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF p_grant > 0 THEN
        INSERT INTO credit_entries (user_id, kind, amount, reserved_change, balance_after, reserved_after,
                                    idempotency_key, actor, reason, created_at)
        VALUES (p_user, 'grant', p_grant, 0, p_grant, 0, 'signup:' || p_user, 'system', 'signup grant', p_now);
    END IF;
    RETURN true;
END $$;

-- Grants (p_amount > 0) and adjustments (p_amount <> 0) by an admin, idempotent by p_key. A negative adjustment may
-- take no more than the available balance (what is neither spent nor held).
-- outcome: applied | replayed | key_conflict (the key was used for another user or amount) | no_account
--        | insufficient_credits
CREATE FUNCTION credits_grant(p_user uuid, p_kind text, p_amount bigint, p_key text, p_actor text, p_reason text, p_now timestamptz)
RETURNS TABLE (outcome text, entry_id bigint, entry_amount bigint, balance bigint, reserved bigint, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    a credit_accounts%ROWTYPE;
    e credit_entries%ROWTYPE;
BEGIN
    SELECT * INTO a FROM credit_accounts WHERE user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_account', NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;

    IF p_amount < 0 AND a.balance - a.reserved + p_amount < 0
       AND NOT EXISTS (SELECT 1 FROM credit_entries x WHERE x.idempotency_key = p_kind || ':' || p_key) THEN
        RETURN QUERY SELECT 'insufficient_credits', NULL::bigint, NULL::bigint, a.balance, a.reserved, NULL::timestamptz;
        RETURN;
    END IF;

    INSERT INTO credit_entries AS x (user_id, kind, amount, reserved_change, balance_after, reserved_after,
                                     idempotency_key, actor, reason, created_at)
    VALUES (p_user, p_kind::credit_entry_kind, p_amount, 0, a.balance + p_amount, a.reserved, p_kind || ':' || p_key, p_actor, p_reason, p_now)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING * INTO e;
    IF FOUND THEN
        UPDATE credit_accounts SET balance = e.balance_after, updated_at = p_now WHERE user_id = p_user;
        RETURN QUERY SELECT 'applied', e.id, e.amount, e.balance_after, a.reserved, e.created_at;
        RETURN;
    END IF;

    SELECT * INTO e FROM credit_entries x WHERE x.idempotency_key = p_kind || ':' || p_key;
    IF e.user_id = p_user AND e.amount = p_amount THEN
        RETURN QUERY SELECT 'replayed', e.id, e.amount, a.balance, a.reserved, e.created_at;
    ELSE
        RETURN QUERY SELECT 'key_conflict', NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::timestamptz;
    END IF;
END $$;

-- Holds p_amount for a call about to be made. Idempotent by p_request_id: a replay returns the first answer.
-- outcome: reserved | replayed | request_conflict (the id was used with other parameters) | no_account
--        | insufficient_credits | user_monthly_cap | key_monthly_cap  (refusals are recorded, so replays repeat them)
CREATE FUNCTION credits_reserve(p_id uuid, p_request_id text, p_user uuid, p_key uuid, p_amount bigint,
                                p_now timestamptz, p_expires timestamptz, p_actor text)
RETURNS TABLE (outcome text, reservation_id uuid, status text, amount bigint, expires_at timestamptz,
               balance bigint, reserved bigint, cap bigint, cap_spent bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    a         credit_accounts%ROWTYPE;
    r         credit_reservations%ROWTYPE;
    k         credit_key_caps%ROWTYPE;
    month     date := credits_month(p_now);
    spent     bigint;
    refusal   text;
    the_cap   bigint;
    cap_spent bigint;
BEGIN
    SELECT * INTO a FROM credit_accounts WHERE user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_account', NULL::uuid, NULL::text, NULL::bigint, NULL::timestamptz,
                            NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;

    SELECT * INTO r FROM credit_reservations x WHERE x.request_id = p_request_id;
    IF FOUND THEN
        -- A replayed refusal answers the same refusal.
        RETURN QUERY SELECT CASE WHEN r.user_id <> p_user OR r.api_key_id IS DISTINCT FROM p_key OR r.amount <> p_amount
                                 THEN 'request_conflict' ELSE coalesce(r.refusal::text, 'replayed') END,
                            r.id, r.status::text, r.amount, r.expires_at, a.balance, a.reserved, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;

    spent := CASE WHEN a.spent_month = month THEN a.month_spent ELSE 0 END;
    IF a.balance - a.reserved < p_amount THEN
        refusal := 'insufficient_credits';
    ELSIF a.monthly_cap IS NOT NULL AND spent + a.reserved + p_amount > a.monthly_cap THEN
        refusal := 'user_monthly_cap';
        the_cap := a.monthly_cap;
        cap_spent := spent + a.reserved;
    ELSIF p_key IS NOT NULL THEN
        SELECT * INTO k FROM credit_key_caps x WHERE x.user_id = p_user AND x.api_key_id = p_key;
        IF FOUND THEN
            cap_spent := CASE WHEN k.spent_month = month THEN k.month_spent ELSE 0 END + k.held;
            IF cap_spent + p_amount > k.monthly_cap THEN
                refusal := 'key_monthly_cap';
                the_cap := k.monthly_cap;
            END IF;
        END IF;
    END IF;

    INSERT INTO credit_reservations AS x (id, request_id, user_id, api_key_id, amount, status, refusal, created_at, expires_at, settled_at)
    VALUES (p_id, p_request_id, p_user, p_key, p_amount, (CASE WHEN refusal IS NULL THEN 'held' ELSE 'refused' END)::credit_reservation_status,
            refusal::credit_refusal, p_now, p_expires, CASE WHEN refusal IS NULL THEN NULL ELSE p_now END)
    ON CONFLICT (request_id) DO NOTHING;
    IF NOT FOUND THEN
        -- The same request id, for another account, committed meanwhile.
        RETURN QUERY SELECT 'request_conflict', NULL::uuid, NULL::text, NULL::bigint, NULL::timestamptz,
                            NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;

    IF refusal IS NOT NULL THEN
        RETURN QUERY SELECT refusal, p_id, 'refused'::text, p_amount, p_expires, a.balance, a.reserved, the_cap, cap_spent;
        RETURN;
    END IF;

    UPDATE credit_accounts SET reserved = a.reserved + p_amount, updated_at = p_now WHERE user_id = p_user;
    IF k.user_id IS NOT NULL THEN
        UPDATE credit_key_caps x SET held = x.held + p_amount WHERE x.user_id = p_user AND x.api_key_id = p_key;
    END IF;
    INSERT INTO credit_entries (user_id, kind, amount, reserved_change, balance_after, reserved_after, reservation_id,
                                api_key_id, idempotency_key, actor, reason, created_at)
    VALUES (p_user, 'reserve', 0, p_amount, a.balance, a.reserved + p_amount, p_id, p_key, 'reserve:' || p_id,
            p_actor, 'request ' || p_request_id, p_now);
    RETURN QUERY SELECT 'reserved', p_id, 'held'::text, p_amount, p_expires, a.balance, a.reserved + p_amount, NULL::bigint, NULL::bigint;
END $$;

-- Settles a reservation: p_actual is charged, the rest of the hold returns to the available balance. A capture after
-- the reservation expired still charges (the work was done). The charge may exceed the hold: the balance may then go
-- below zero, and the account takes no new reservation until it is topped up.
-- outcome: captured | replayed | not_found | conflict (captured with another amount, released, or refused)
CREATE FUNCTION credits_capture(p_reservation uuid, p_actual bigint, p_now timestamptz, p_actor text)
RETURNS TABLE (outcome text, status text, user_id uuid, amount bigint, charged bigint, balance bigint, reserved bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    owner   uuid;
    a       credit_accounts%ROWTYPE;
    r       credit_reservations%ROWTYPE;
    month   date := credits_month(p_now);
    release bigint;
BEGIN
    SELECT x.user_id INTO owner FROM credit_reservations x WHERE x.id = p_reservation;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found', NULL::text, NULL::uuid, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    SELECT * INTO a FROM credit_accounts x WHERE x.user_id = owner FOR UPDATE;
    SELECT * INTO r FROM credit_reservations x WHERE x.id = p_reservation FOR UPDATE;

    IF r.status = 'captured' THEN
        RETURN QUERY SELECT CASE WHEN r.captured = p_actual THEN 'replayed' ELSE 'conflict' END,
                            r.status::text, owner, r.amount, r.captured, a.balance, a.reserved;
        RETURN;
    ELSIF r.status IN ('released', 'refused') THEN
        RETURN QUERY SELECT 'conflict', r.status::text, owner, r.amount, r.captured, a.balance, a.reserved;
        RETURN;
    END IF;

    release := CASE WHEN r.status = 'held' THEN r.amount ELSE 0 END;
    UPDATE credit_accounts x
    SET balance = a.balance - p_actual,
        reserved = a.reserved - release,
        month_spent = CASE WHEN a.spent_month = month THEN a.month_spent ELSE 0 END + p_actual,
        spent_month = month,
        updated_at = p_now
    WHERE x.user_id = owner;
    IF r.api_key_id IS NOT NULL THEN
        UPDATE credit_key_caps x
        SET month_spent = CASE WHEN x.spent_month = month THEN x.month_spent ELSE 0 END + p_actual, spent_month = month,
            held = x.held - release
        WHERE x.user_id = owner AND x.api_key_id = r.api_key_id;
    END IF;
    UPDATE credit_reservations x SET status = 'captured', captured = p_actual, settled_at = p_now WHERE x.id = p_reservation;
    INSERT INTO credit_entries (user_id, kind, amount, reserved_change, balance_after, reserved_after, reservation_id,
                                api_key_id, idempotency_key, actor, reason, created_at)
    VALUES (owner, 'capture', -p_actual, -release, a.balance - p_actual, a.reserved - release, p_reservation,
            r.api_key_id, 'capture:' || p_reservation, p_actor,
            CASE WHEN r.status = 'held' THEN 'request ' || r.request_id ELSE 'request ' || r.request_id || ' (captured after expiry)' END,
            p_now);
    RETURN QUERY SELECT 'captured', 'captured'::text, owner, r.amount, p_actual, a.balance - p_actual, a.reserved - release;
END $$;

-- Gives a held reservation back (p_expired: by the expiry job). A released or expired one is a replay.
-- outcome: released | replayed | not_found | conflict (captured or refused)
CREATE FUNCTION credits_release(p_reservation uuid, p_expired boolean, p_now timestamptz, p_actor text)
RETURNS TABLE (outcome text, status text, user_id uuid, amount bigint, balance bigint, reserved bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    owner uuid;
    a     credit_accounts%ROWTYPE;
    r     credit_reservations%ROWTYPE;
BEGIN
    SELECT x.user_id INTO owner FROM credit_reservations x WHERE x.id = p_reservation;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found', NULL::text, NULL::uuid, NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    SELECT * INTO a FROM credit_accounts x WHERE x.user_id = owner FOR UPDATE;
    SELECT * INTO r FROM credit_reservations x WHERE x.id = p_reservation FOR UPDATE;

    IF r.status IN ('released', 'expired') THEN
        RETURN QUERY SELECT 'replayed', r.status::text, owner, r.amount, a.balance, a.reserved;
        RETURN;
    ELSIF r.status <> 'held' THEN
        RETURN QUERY SELECT 'conflict', r.status::text, owner, r.amount, a.balance, a.reserved;
        RETURN;
    END IF;

    UPDATE credit_accounts x SET reserved = a.reserved - r.amount, updated_at = p_now WHERE x.user_id = owner;
    IF r.api_key_id IS NOT NULL THEN
        UPDATE credit_key_caps x SET held = x.held - r.amount WHERE x.user_id = owner AND x.api_key_id = r.api_key_id;
    END IF;
    UPDATE credit_reservations x SET status = (CASE WHEN p_expired THEN 'expired' ELSE 'released' END)::credit_reservation_status, settled_at = p_now
    WHERE x.id = p_reservation;
    INSERT INTO credit_entries (user_id, kind, amount, reserved_change, balance_after, reserved_after, reservation_id,
                                api_key_id, idempotency_key, actor, reason, created_at)
    VALUES (owner, 'release', 0, -r.amount, a.balance, a.reserved - r.amount, p_reservation, r.api_key_id,
            'release:' || p_reservation, p_actor,
            CASE WHEN p_expired THEN 'request ' || r.request_id || ' not settled in time' ELSE 'request ' || r.request_id END,
            p_now);
    RETURN QUERY SELECT 'released', CASE WHEN p_expired THEN 'expired' ELSE 'released' END, owner, r.amount, a.balance, a.reserved - r.amount;
END $$;

-- The expiry job: releases up to p_limit held reservations due at p_now, each in the lock order above. Returns how
-- many were due and how many it released (another replica may have settled some); run again while examined equals
-- p_limit. Replicas may run it concurrently.
CREATE FUNCTION credits_expire_due(p_now timestamptz, p_limit int, OUT examined int, OUT released int)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    due record;
BEGIN
    examined := 0;
    released := 0;
    FOR due IN
        SELECT x.id FROM credit_reservations x
        WHERE x.status = 'held' AND x.expires_at <= p_now
        ORDER BY x.user_id, x.id
        LIMIT p_limit
    LOOP
        examined := examined + 1;
        IF (SELECT x.outcome FROM credits_release(due.id, true, p_now, 'system:expiry') x) = 'released' THEN
            released := released + 1;
        END IF;
    END LOOP;
END $$;
