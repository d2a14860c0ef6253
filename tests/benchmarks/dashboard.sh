#!/usr/bin/env bash
# Dashboard benchmark (issue "Dashboard pages stay responsive with 100,000 spans held; AppHost memory with default
# limits after that load, target under 300 MB"). Runs the graph in Release with the dashboard on free ports and
# measures, with the store nearly empty (the services' own telemetry) as the baseline:
#   - the AppHost's RSS (VmRSS of its process; the peak is VmHWM) after ~10 s idle;
#   - page latencies (median and p95 of N sequential requests on one connection, signed in with the session cookie) of
#     /, /traces, /traces/{id}, /structuredlogs, /structuredlogs?traceId=, /metrics (the gateway's request duration);
# then loads 100,000 spans (20,000 traces of 5 spans across 3 resources, and 20,000 log records) through the
# OpenTelemetry SDK's OTLP exporter (tests/benchmarks/OtlpLoad) and measures the same again, with the ratios; then
# loads another 300,000 spans (the store keeps 100,000: the oldest leave first) and measures again, to show memory is
# bounded; then 100,000 more, after which the logs buffer (one record per trace) is full too: the most the default
# limits hold. The RSS is read 5 s after each load and again after that stage's page requests. About 90 s.
#
#   tests/benchmarks/dashboard.sh [requests per page=20]
#   DASHBOARD_BENCH_PROTOCOL=http/protobuf tests/benchmarks/dashboard.sh    # OTLP/HTTP instead of gRPC
#
# Loopback only; everything it starts is stopped by PID when it exits.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in curl python3; do command -v $tool >/dev/null || { echo "$tool is missing" >&2; exit 1; }; done
samples=${1:-20}
protocol=${DASHBOARD_BENCH_PROTOCOL:-grpc}
state=$(mktemp -d /tmp/smarthub-bench-XXXXXX); chmod 755 "$state"
work=$(mktemp -d); log=$work/apphost.log; jar=$work/cookies; pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$state" "$work"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
param() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$state/parameters.json" "$1"; }

dotnet build AppHost/AppHost.csproj -c Release -v q -nologo >/dev/null
dotnet build tests/benchmarks/OtlpLoad/OtlpLoad.csproj -c Release -v q -nologo >/dev/null
otlpload=tests/benchmarks/OtlpLoad/bin/Release/net10.0/OtlpLoad

gw=$(freeport); dash_port=$(freeport); grpc_port=$(freeport); http_port=$(freeport)
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$log"
DOTNET_ENVIRONMENT=Production SMARTHUB_STATE_DIR=$state SMARTHUB_GATEWAY_PORT=$gw SMARTHUB_DASHBOARD_PORT=$dash_port \
  SMARTHUB_DASHBOARD_OTLP_GRPC_PORT=$grpc_port SMARTHUB_DASHBOARD_OTLP_HTTP_PORT=$http_port \
  AppHost/bin/Release/net10.0/SmartHub.AppHost >"$log" 2>&1 &
apphost=$!; pids+=("$apphost")
until grep -q "resources healthy in" "$log"; do kill -0 "$apphost" 2>/dev/null || { tail -30 "$log"; exit 1; }; sleep 0.2; done
login_url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+/login\?t=[^ ]+' "$log" | head -1)
dashboard=${login_url%%/login*}
api="http://127.0.0.1:$gw"

# Sign in: the link sets the session cookie and redirects.
code=$(curl -sS -o /dev/null -w '%{http_code}' -c "$jar" "$login_url")
[[ $code == 302 ]] || { echo "sign-in answered $code, not 302" >&2; exit 1; }
page() { curl -fsS -b "$jar" "$dashboard$1"; }
headers=$(page "/resources/core/env?key=OTEL_EXPORTER_OTLP_HEADERS")
endpoint=$(page "/resources/core/env?key=OTEL_EXPORTER_OTLP_ENDPOINT")
[[ $protocol == grpc ]] || endpoint="http://127.0.0.1:$http_port"
[[ $headers == x-otlp-api-key=* && -n $endpoint ]] || { echo "no OTLP key or endpoint in core's environment" >&2; exit 1; }

rss_mb() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$apphost/status"; }
hwm_mb() { awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$apphost/status"; }
# What the traces page says the store holds: "The newest 200 of N matching traces" (or "N trace(s)") and "S spans held".
# (Read whole before grep: a reader that stops early would fail the pipe.)
held() {
  local html t s; html=$(page /traces)
  t=$(grep -oE '(of [0-9]+ matching traces|[0-9]+ trace\(s\))' <<<"$html" | grep -m1 -oE '[0-9]+')
  s=$(grep -m1 -oE '[0-9,]+ spans held' <<<"$html" | tr -d , | grep -oE '^[0-9]+' || echo "?")
  echo "$t traces / $s spans"
}
newest_trace() { local html; html=$(page /traces); grep -m1 -oE 'href="/traces/[0-9a-f]{32}"' <<<"$html" | grep -oE '[0-9a-f]{32}'; }
# latency path -> "median_ms p95_ms bytes": one warming request, then $samples sequential requests on one connection;
# fails on any answer but 200.
latency() {
  local url="$dashboard$1" args=() i
  curl -fsS -o /dev/null -b "$jar" "$url"
  for ((i = 0; i < samples; i++)); do args+=(-o /dev/null "$url"); done
  curl -sS -b "$jar" -w '%{http_code} %{time_total} %{size_download}\n' "${args[@]}" | python3 -c '
import math, sys
rows = [l.split() for l in sys.stdin if l.strip()]
bad = [r[0] for r in rows if r[0] != "200"]
if bad: sys.exit("answers other than 200 from " + sys.argv[1] + ": " + ",".join(sorted(set(bad))))
t = sorted(float(r[1]) * 1000 for r in rows)
n = len(t); median = t[n // 2] if n % 2 else (t[n // 2 - 1] + t[n // 2]) / 2
print(f"{median:.2f} {t[math.ceil(0.95 * n) - 1]:.2f} {rows[-1][2]}")' "$1"
}
names=("/" "/traces" "/traces/{id}" "/structuredlogs" "/structuredlogs?traceId={id}" "/metrics gateway request duration")
measure() { # trace id -> one latency line per page into the array named $2
  local -n out=$2
  out=()
  for path in / /traces "/traces/$1" /structuredlogs "/structuredlogs?traceId=$1" "/metrics?resource=gateway&instrument=http.server.request.duration"; do
    out+=("$(latency "$path")")
  done
}
load() { # spans
  "$otlpload" --spans "$1" --endpoint "$endpoint" --headers "$headers" --protocol "$protocol" >"$work/load.txt" \
    || { cat "$work/load.txt" >&2; echo "the load was not exported whole" >&2; exit 1; }
  sed 's/^/  /' "$work/load.txt" >&2
  grep -oE '[0-9,]+ spans/s' "$work/load.txt" | tr -d ,
}

# Baseline: a request through the gateway that AuthService logs inside its trace (a registration for an existing email),
# and a balance read (gateway, CoreService, PostgreSQL), so the pages have a real trace, log and metric to show.
admin=admin@smarthub.local
trace=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
curl -fsS -o /dev/null -H "traceparent: 00-$trace-$(python3 -c 'import secrets; print(secrets.token_hex(8))')-01" \
  -H 'Content-Type: application/json' -d "{\"email\":\"$admin\",\"password\":\"another long password 1234\",\"displayName\":\"Again\"}" "$api/auth/register"
token=$(curl -fsS -H 'Content-Type: application/json' -d "{\"email\":\"$admin\",\"password\":\"$(param admin-password)\"}" "$api/auth/login" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$api/api/v1/credits/balance"
for _ in $(seq 1 100); do [[ $(curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$dashboard/traces/$trace") == 200 ]] && break; sleep 0.2; done
sleep 10
rss_base=$(rss_mb); held_base=$(held)
measure "$trace" base
echo "baseline: RSS $rss_base MB, $held_base held"

echo "loading 100,000 spans"
rate1=$(load 100000)
sleep 5
trace=$(newest_trace)
rss_100k=$(rss_mb); held_100k=$(held)
measure "$trace" loaded
rss_100k_after=$(rss_mb)
echo "100,000 spans: RSS $rss_100k MB (after the page requests $rss_100k_after MB), $held_100k held"

echo "loading 300,000 more spans"
rate2=$(load 300000)
sleep 5
trace=$(newest_trace)
rss_400k=$(rss_mb); held_400k=$(held)
measure "$trace" more
rss_400k_after=$(rss_mb)
echo "400,000 spans sent: RSS $rss_400k MB (after the page requests $rss_400k_after MB), $held_400k held"

# One log record per trace: the logs buffer (100,000 records) is full only after 500,000 spans.
echo "loading 100,000 more spans (both buffers full)"
rate3=$(load 100000)
sleep 5
rss_500k=$(rss_mb); held_500k=$(held)
latency /structuredlogs >/dev/null; latency /traces >/dev/null
rss_500k_after=$(rss_mb)
echo "500,000 spans sent: RSS $rss_500k MB (after page requests $rss_500k_after MB), $held_500k held"

echo
echo "Page latency, median / p95 of $samples sequential requests (ms), and the page's size:"
printf '%-36s %18s %18s %9s %18s %10s\n' "page" "baseline" "100k spans" "ratio" "after 400k sent" "size"
for i in "${!names[@]}"; do
  read -r bm bp _ <<<"${base[$i]}"; read -r lm lp lsize <<<"${loaded[$i]}"; read -r mm mp _ <<<"${more[$i]}"
  printf '%-36s %8.1f / %7.1f %8.1f / %7.1f %8.1fx %8.1f / %7.1f %7d KB\n' "${names[$i]}" "$bm" "$bp" "$lm" "$lp" \
    "$(awk -v a="$lm" -v b="$bm" 'BEGIN { print a / b }')" "$mm" "$mp" "$((lsize / 1024))"
done
echo
echo "AppHost RSS: baseline $rss_base MB; 100,000 spans held $rss_100k MB ($(awk -v a="$rss_100k" -v b="$rss_base" 'BEGIN { printf "%.1f", a / b }')x);" \
  "after 400,000 sent (100,000 held, 80,000 logs) $rss_400k MB; after 500,000 sent (100,000 spans and 100,000 logs held) $rss_500k MB;" \
  "peak (VmHWM) $(hwm_mb) MB"
echo "Held (the traces page): baseline $held_base; after 100,000 spans $held_100k; after 400,000 $held_400k; after 500,000 $held_500k"
echo "Load sent: $rate1 (100,000), $rate2 (300,000), $rate3 (100,000), $protocol"
worst=$(for l in "${loaded[@]}"; do echo "$l"; done | awk '{ print $2 }' | sort -n | tail -1)
echo "Targets: RSS under 300 MB with 100,000 spans: $(( rss_100k > rss_100k_after ? rss_100k : rss_100k_after )) MB, $([[ $rss_100k -lt 300 && $rss_100k_after -lt 300 ]] && echo met || echo NOT met);" \
  "every page under 500 ms (p95) at 100,000 spans: $(awk -v w="$worst" 'BEGIN { print (w < 500 ? "met" : "NOT met") }') (slowest p95 $worst ms)"
