#!/usr/bin/env bash
# Monitoring benchmark (issue "Monitoring, SLA tracking and security reporting"): sample ingestion into coredb through
# the real pipeline (the gateway's stream format -> Redis -> CoreService), target >= 20,000 samples/s; and the monitoring
# API over 10 million samples, target < 200 ms per query. The queries are timed through the gateway with 100,000
# samples stored (the baseline) and again with 10,000,000, in the same run; the report gives both and their ratio.
#
#   tests/benchmarks/monitoring.sh [samples=10000000] [seconds-per-query=5]   (about 10 minutes at 10M; ~3 GB of disk)
#
# Samples are spread over the last 7 days, 3 services and 60 endpoints of every tier, durations log-uniform from 1 ms
# to 3 s, 2% errors. The baseline's 100,000 go through the pipeline (they are the ingestion measurement); the rest are
# bulk-inserted in SQL and the rollups rebuilt from all samples (the same rows the store writes, faster), minute rollups
# for the last 24 hours. Needs wrk, psql, redis-cli, python3. Loopback only; everything it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
total=${1:-10000000}
secs=${2:-5}
baseline=100000
source tests/benchmarks/hub.sh
admin() { login "$(param admin-email 2>/dev/null || echo admin@smarthub.local)" "$(param admin-password)"; }

names=("overview, 7 days (hours)" "overview, 1 hour (minutes)" "endpoints, 7 days, by p95" "endpoints, 24 h, one tier" "trends, 7 days by 6 h" "violations, 24 h")
urls=("/api/v1/monitoring/overview?period=7d" "/api/v1/monitoring/overview?period=1h"
      "/api/v1/monitoring/response-time/endpoints?period=7d" "/api/v1/monitoring/response-time/endpoints?period=24h&tier=critical"
      "/api/v1/monitoring/response-time/trends?period=7d&bucket=6h" "/api/v1/monitoring/response-time/violations?period=24h")
measure() { # -> one "avg_ms p99_ms non2xx" line per query
  local token; token=$(admin)
  for url in "${urls[@]}"; do query_latency "$token" "$url"; done
}

# Ingestion through the real pipeline: entries of 256 samples exactly as the gateway writes them (in time order, as
# traffic of 20,000 requests/s would produce them), XADDed at once.
python3 - "$baseline" > "$state/entries.resp" <<'PY'
import json, math, random, sys, time, uuid
n = int(sys.argv[1]); out = sys.stdout.buffer
now = time.time()
services = ["auth", "core", "mcp"]
paths = ["/auth/login", "/auth/refresh", "/v1/chat/completions", "/api/v1/credits/balance", "/api/v1/usage", "/api/v1/monitoring/overview", "/api/v1/reports/monthly"]
def cmd(*args):
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    out.write(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
for b in range(n // 256):
    samples = [{"route": "core", "path": random.choice(paths) + "/e%d" % random.randrange(8), "method": "GET",
                "status": 500 if random.random() < 0.02 else 200, "duration_ms": round(math.exp(random.random() * 8), 3),
                "service": random.choice(services), "time": int((now - (n - b * 256 - i) / 20000.0) * 1000),
                "correlation_id": uuid.uuid4().hex} for i in range(256)]
    cmd("XADD", "telemetry:response-times", "*", "v", "1", "batch", uuid.uuid4().hex, "count", 256, "samples", json.dumps(samples, separators=(",", ":")))
PY
sent=$(( baseline / 256 * 256 ))
t0=$(date +%s.%N)
redis-cli -p "$redis_port" --no-auth-warning --pipe < "$state/entries.resp" >/dev/null
until [[ $(psql -qAt -c "SELECT count(*) FROM response_time_samples") -ge $sent ]]; do sleep 0.05; done
t1=$(date +%s.%N)
rate_stream=$(awk -v n=$sent -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
hour_rows=$(psql -qAt -c "SELECT sum(count) FROM response_time_rollups WHERE grain = 'h'")
[[ $hour_rows == "$sent" ]] || { echo "rollups count $hour_rows of $sent samples" >&2; exit 1; }
psql -qAt -c "ANALYZE" >/dev/null
small=(); while read -r line; do small+=("$line"); done < <(measure)

echo "loading up to $total samples ..."
t0=$(date +%s.%N)
psql -qAt -v ON_ERROR_STOP=1 -c "SELECT response_time_ensure_partitions(now() - interval '8 days', now())" >/dev/null
have=$(psql -qAt -c "SELECT count(*) FROM response_time_samples")
for ((start = have; start < total; start += 1000000)); do
  end=$(( start + 1000000 < total ? start + 1000000 : total ))
  psql -qAt -v ON_ERROR_STOP=1 -c "
    INSERT INTO response_time_samples (at, service, method, endpoint, path, status, duration_ms, tier, threshold_ms, correlation_id)
    SELECT now() - random() * interval '7 days', (ARRAY['auth','core','mcp'])[1 + g % 3], 'GET', '/api/v1/bench/e' || (g % 60),
           '/api/v1/bench/e' || (g % 60), CASE WHEN g % 50 = 0 THEN 500 ELSE 200 END, exp(random() * 8),
           (ARRAY['critical','high','medium','low'])[1 + g % 4], (ARRAY[500,1000,2000,5000])[1 + g % 4], md5(g::text)
    FROM generate_series($start, $((end - 1))) g" >/dev/null
done
psql -qAt -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
  SET work_mem = '512MB';
  CREATE FUNCTION pg_temp.dense(idx int[], c bigint[]) RETURNS int[] LANGUAGE plpgsql IMMUTABLE AS $$
  DECLARE h int[] := array_fill(0, ARRAY[165]);
  BEGIN
    FOR i IN 1 .. array_length(idx, 1) LOOP h[idx[i] + 1] := h[idx[i] + 1] + c[i]; END LOOP;
    RETURN h;
  END $$;
  BEGIN;
  TRUNCATE response_time_rollups, response_time_statuses;
  CREATE TEMP VIEW keyed AS
  SELECT g.grain, CASE g.grain WHEN 'm' THEN date_trunc('minute', s.at) WHEN 'h' THEN date_trunc('hour', s.at)
                  ELSE (date_trunc('day', s.at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') END AS bucket,
         s.service, s.method, s.endpoint, s.tier, s.threshold_ms, s.status, s.duration_ms,
         CASE WHEN s.duration_ms <= 0.1 THEN 0 ELSE least(164, ceil(ln(s.duration_ms / 0.1) / ln(1.1) - 1e-9)::int) END AS idx
  FROM response_time_samples s
  CROSS JOIN (VALUES ('m'::"char"), ('h'::"char"), ('d'::"char")) AS g(grain)
  WHERE g.grain <> 'm' OR s.at >= now() - interval '24 hours';
  CREATE TEMP TABLE counts AS
  SELECT grain, bucket, service, method, endpoint, idx, min(tier) AS tier, min(threshold_ms) AS threshold_ms, count(*) AS c,
         count(*) FILTER (WHERE status >= 500) AS errors, count(*) FILTER (WHERE status BETWEEN 400 AND 499) AS client_errors,
         count(*) FILTER (WHERE duration_ms > threshold_ms) AS slow, sum(duration_ms) AS sum_ms, max(duration_ms) AS max_ms
  FROM keyed GROUP BY grain, bucket, service, method, endpoint, idx;
  INSERT INTO response_time_rollups
  SELECT grain, bucket, service, method, endpoint, min(tier), min(threshold_ms), sum(c), sum(errors), sum(client_errors), sum(slow),
         sum(sum_ms), max(max_ms), pg_temp.dense(array_agg(idx), array_agg(c))
  FROM counts GROUP BY grain, bucket, service, method, endpoint;
  INSERT INTO response_time_statuses
  SELECT grain, bucket, service, method, endpoint, status, count(*) FROM keyed GROUP BY 1, 2, 3, 4, 5, 6;
  DROP TABLE counts;
  DROP VIEW keyed;
  COMMIT;
  ANALYZE;
SQL
t1=$(date +%s.%N)
rate_bulk=$(awk -v n=$((total - have)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
large=(); while read -r line; do large+=("$line"); done < <(measure)
count=$(psql -qAt -c "SELECT count(*) FROM response_time_samples")
sizes=$(psql -qAt -c "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid WHERE i.inhparent = 'response_time_samples'::regclass")
rollup=$(psql -qAt -c "SELECT count(*) || ' rows, ' || pg_size_pretty(pg_total_relation_size('response_time_rollups')) FROM response_time_rollups")

printf '\nmonitoring API through the gateway, wrk -t1 -c2 %ss per query; average / p99 latency (target < 200 ms)\n' "$secs"
ratio_table 34 "$sent samples" "$count samples"
printf 'samples: %s in day partitions (%s); rollups %s\n' "$count" "$sizes" "$rollup"
printf 'ingestion through Redis stream -> CoreService -> coredb: %s samples/s (%s samples in 256-sample entries; target >= 20,000)\n' "$rate_stream" "$sent"
printf 'bulk INSERT + rollup rebuild in SQL to %s: %s samples/s\n' "$count" "$rate_bulk"
