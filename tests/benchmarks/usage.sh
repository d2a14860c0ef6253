#!/usr/bin/env bash
# Usage analytics benchmark (issue "Credits ledger, usage accounting and analytics"): do the usage APIs stay fast at
# 10 million usage records? The same queries through the gateway are timed with 100,000 records stored (the baseline)
# and again with 10,000,000, in the same run; the report gives both and their ratio. Also: ingestion through the real
# pipeline (Redis stream -> CoreService -> coredb) in records/s, and the bulk rate of the storage function alone.
#
#   tests/benchmarks/usage.sh [records=10000000] [seconds-per-query=5]   (about 10 minutes at 10M; ~4 GB of disk)
#
# Records are spread over the last 90 days, 1,000 users (one of them a real user the queries run as), 2,000 API keys
# plus sessions, 4 models, generated in SQL. The baseline's are stored with usage_store, the function the consumer
# calls (records and rollups in one transaction), 50,000 per call; the rest are bulk-inserted and the rollups rebuilt
# from all records (the same rows, faster). Needs wrk, psql and redis-cli. Loopback only; everything it starts is
# stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
total=${1:-10000000}
secs=${2:-5}
baseline=100000
source tests/benchmarks/hub.sh
admin=$(login "$(param admin-email 2>/dev/null || echo admin@smarthub.local)" "$(param admin-password)")
email="bench-$RANDOM@bench.smarthub.local"; password="bench password $RANDOM$RANDOM"
curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "{\"email\":\"$email\",\"password\":\"$password\",\"displayName\":\"bench\"}" "$api/auth/register"
user=$(login "$email" "$password")
me=$(curl -fsS -H "Authorization: Bearer $user" "$api/auth/me" | json id)

# Stores records [lo, hi) in chunks of 50,000; prints records/s.
load() {
  local lo=$1 hi=$2 t0 t1
  t0=$(date +%s.%N)
  for ((start = lo; start < hi; start += 50000)); do
    local end=$(( start + 50000 < hi ? start + 50000 : hi ))
    psql -qAt -v ON_ERROR_STOP=1 -v me="$me" -c "
      SELECT usage_store(array_agg(gen_random_uuid()), array_agg(now() - random() * interval '90 days'),
        array_agg(CASE WHEN g % 1000 = 0 THEN '$me'::uuid ELSE md5('u' || g % 1000)::uuid END),
        array_agg(CASE WHEN g % 5 = 0 THEN NULL ELSE md5('k' || g % 2000)::uuid END),
        array_agg((ARRAY['mock-fast','mock-smart','gpt-4o','claude-sonnet'])[1 + g % 4]),
        array_agg((ARRAY['mock','mock','openai','anthropic'])[1 + g % 4]),
        array_agg((random() * 2000)::int), array_agg((random() * 800)::int), array_agg((random() * 30)::bigint),
        array_agg(random() * 3000), array_agg(CASE WHEN g % 3 = 0 THEN NULL ELSE random() * 500 END),
        array_agg((CASE WHEN g % 50 = 0 THEN 502 ELSE 200 END)::smallint), array_agg(g % 7 = 0))
      FROM generate_series($start, $((end - 1))) g" >/dev/null
  done
  psql -qAt -c "ANALYZE usage_records; ANALYZE usage_daily" >/dev/null
  t1=$(date +%s.%N)
  awk -v n=$((hi - lo)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}

# Bulk-loads records [lo, hi) with plain INSERTs (1,000,000 per statement), then rebuilds the three daily rollups from
# all records in one pass: the same rows usage_store would have written, at several times its speed. Prints records/s.
bulk() {
  local lo=$1 hi=$2 t0 t1
  t0=$(date +%s.%N)
  psql -qAt -v ON_ERROR_STOP=1 -c "SELECT usage_ensure_partitions(now() - interval '91 days', now())" >/dev/null
  for ((start = lo; start < hi; start += 1000000)); do
    local end=$(( start + 1000000 < hi ? start + 1000000 : hi ))
    psql -qAt -v ON_ERROR_STOP=1 -c "
      INSERT INTO usage_records
      SELECT gen_random_uuid(), now() - random() * interval '90 days',
        CASE WHEN g % 1000 = 0 THEN '$me'::uuid ELSE md5('u' || g % 1000)::uuid END,
        CASE WHEN g % 5 = 0 THEN NULL ELSE md5('k' || g % 2000)::uuid END,
        (ARRAY['mock-fast','mock-smart','gpt-4o','claude-sonnet'])[1 + g % 4], (ARRAY['mock','mock','openai','anthropic'])[1 + g % 4],
        (random() * 2000)::int, (random() * 800)::int, (random() * 30)::bigint, random() * 3000,
        CASE WHEN g % 3 = 0 THEN NULL ELSE random() * 500 END, (CASE WHEN g % 50 = 0 THEN 502 ELSE 200 END)::smallint, g % 7 = 0
      FROM generate_series($start, $((end - 1))) g" >/dev/null
  done
  psql -qAt -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
    SET work_mem = '256MB';
    BEGIN;
    TRUNCATE usage_daily, usage_daily_users, usage_daily_models;
    INSERT INTO usage_daily
    SELECT (occurred_at AT TIME ZONE 'UTC')::date, user_id, coalesce(api_key_id, '00000000-0000-0000-0000-000000000000'), model, provider,
           count(*), count(*) FILTER (WHERE status >= 400), count(*) FILTER (WHERE cache_hit), sum(prompt_tokens), sum(completion_tokens),
           sum(credits), sum(latency_ms), coalesce(sum(ttft_ms), 0), count(ttft_ms)
    FROM usage_records GROUP BY 1, 2, 3, 4, 5;
    INSERT INTO usage_daily_users
    SELECT day, user_id, sum(requests), sum(errors), sum(cache_hits), sum(prompt_tokens), sum(completion_tokens), sum(credits),
           sum(latency_ms_sum), sum(ttft_ms_sum), sum(ttft_count) FROM usage_daily GROUP BY 1, 2;
    INSERT INTO usage_daily_models
    SELECT day, model, provider, sum(requests), sum(errors), sum(cache_hits), sum(prompt_tokens), sum(completion_tokens), sum(credits),
           sum(latency_ms_sum), sum(ttft_ms_sum), sum(ttft_count) FROM usage_daily GROUP BY 1, 2, 3;
    COMMIT;
    ANALYZE usage_records; ANALYZE usage_daily; ANALYZE usage_daily_users; ANALYZE usage_daily_models;
SQL
  t1=$(date +%s.%N)
  awk -v n=$((hi - lo)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}

now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
day() { date -u -d "@$1" +%Y-%m-%d; }
names=("user, 30 days by day" "user, 90 days by model, partial edges" "user, 7 days by API key, partial edges" "admin, 30 days (dates)" "admin, 7 days, partial edges")
urls=("/api/v1/usage?groupBy=day"
      "/api/v1/usage?groupBy=model&from=$(iso $((now - 89 * 86400 - 3600)))&to=$(iso $((now - 3600)))"
      "/api/v1/usage?groupBy=apiKey&from=$(iso $((now - 7 * 86400 - 7200)))&to=$(iso $now)"
      "/api/v1/admin/usage?from=$(day $((now - 30 * 86400)))&to=$(day $now)"
      "/api/v1/admin/usage?from=$(iso $((now - 7 * 86400 - 7200)))&to=$(iso $now)")
tokens=("$user" "$user" "$user" "$admin" "$admin")
measure() { # -> one "avg_ms p99_ms non2xx" line per query
  for i in "${!urls[@]}"; do query_latency "${tokens[$i]}" "${urls[$i]}"; done
}

echo "loading $baseline records (baseline) ..."
rate_small=$(load 0 $baseline)
small=(); while read -r line; do small+=("$line"); done < <(measure)

# Ingestion through the real pipeline: 200 stream entries of 500 records each (the same 1,000 users), XADDed at once.
stream_n=100000
python3 - "$stream_n" > "$state/entries.resp" <<'PY'
import hashlib, json, sys, uuid, random, time
n = int(sys.argv[1]); out = sys.stdout
now = time.time()
def cmd(*args):
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    out.buffer.write(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
for b in range(n // 500):
    recs = [{"id": str(uuid.uuid4()), "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - random.random() * 86400)),
             "user_id": str(uuid.UUID(hashlib.md5(b"u%d" % random.randrange(1000)).hexdigest())), "api_key_id": None, "model": "mock-fast", "provider": "mock",
             "prompt_tokens": 100, "completion_tokens": 50, "credits": 1, "latency_ms": 12.5, "time_to_first_token_ms": 3.0,
             "status": 200, "cache_hit": False} for _ in range(500)]
    cmd("XADD", "usage:records", "*", "v", "1", "batch", uuid.uuid4().hex, "count", 500, "records", json.dumps(recs, separators=(",", ":")))
PY
before=$(psql -qAt -c "SELECT count(*) FROM usage_records")
t0=$(date +%s.%N)
redis-cli -p "$redis_port" --no-auth-warning --pipe < "$state/entries.resp" >/dev/null
until [[ $(redis-cli -p "$redis_port" --no-auth-warning XLEN usage:records) == 0 ]]; do sleep 0.05; done
t1=$(date +%s.%N)
stored=$(( $(psql -qAt -c "SELECT count(*) FROM usage_records") - before ))
[[ $stored == "$stream_n" ]] || { echo "ingestion stored $stored of $stream_n records" >&2; exit 1; }
rate_stream=$(awk -v n=$stream_n -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')

echo "loading up to $total records ..."
have=$(psql -qAt -c "SELECT count(*) FROM usage_records")
rate_big=$(bulk "$have" "$total")
# Access tokens last minutes and the load takes longer: sign in again.
user=$(login "$email" "$password"); admin=$(login "$(param admin-email 2>/dev/null || echo admin@smarthub.local)" "$(param admin-password)")
tokens=("$user" "$user" "$user" "$admin" "$admin")
large=(); while read -r line; do large+=("$line"); done < <(measure)
sizes=$(psql -qAt -c "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid WHERE i.inhparent = 'usage_records'::regclass")
rollup=$(psql -qAt -c "SELECT count(*) || ' rows, ' || pg_size_pretty(pg_total_relation_size('usage_daily')) FROM usage_daily")
count=$(psql -qAt -c "SELECT count(*) FROM usage_records")

printf '\nusage analytics through the gateway, wrk -t1 -c2 %ss per query; average / p99 latency\n' "$secs"
ratio_table 42 "$baseline records" "$count records"
printf 'records: %s in partitions (%s), daily rollup %s\n' "$count" "$sizes" "$rollup"
printf 'ingestion through Redis stream -> CoreService -> coredb: %s records/s (%s records in 500-record entries)\n' "$rate_stream" "$stream_n"
printf 'usage_store alone, 50,000-record calls from psql: %s records/s (the baseline load); bulk INSERT + rollup rebuild to %s: %s records/s\n' "$rate_small" "$count" "$rate_big"
