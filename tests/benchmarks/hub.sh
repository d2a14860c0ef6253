# Sourced by the benchmarks that query a hub's databases (usage.sh, monitoring.sh), from the repository's root: builds
# the AppHost in Release and starts the whole graph on a fresh state folder with a free gateway port and high rate
# limits, waits until every resource is healthy, and sets api (the gateway's URL), PGHOST/PGPORT/PGUSER/PGPASSWORD
# (coredb), REDISCLI_AUTH and redis_port, with helpers param (a generated parameter), json (a member of the JSON on
# stdin), login (email, password -> access token), query_latency and ratio_table. Everything it starts is stopped by
# PID when the script exits.
for tool in wrk psql redis-cli python3; do command -v $tool >/dev/null || { echo "$tool is missing" >&2; exit 1; }; done
state=$(mktemp -d /tmp/smarthub-bench-XXXXXX); chmod 755 "$state"
log=$(mktemp); pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$state" "$log"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
param() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$state/parameters.json" "$1"; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }
gw=$(freeport)

dotnet build AppHost/AppHost.csproj -c Release -v q -nologo >/dev/null
export RateLimits__Api__PermitsPerSecond=1000000 RateLimits__Api__Burst=1000000 Logging__LogLevel__Default=Warning DOTNET_ENVIRONMENT=Production
SMARTHUB_DASHBOARD_ENABLED=false SMARTHUB_STATE_DIR=$state SMARTHUB_GATEWAY_PORT=$gw AppHost/bin/Release/net10.0/SmartHub.AppHost >"$log" 2>&1 &
pids+=($!)
until grep -q "resources healthy in" "$log"; do kill -0 "${pids[0]}" 2>/dev/null || { tail -30 "$log"; exit 1; }; sleep 0.2; done
pg_port=$(grep -oE '^\s+postgres\s+PostgreSQL\s+Healthy\s+[0-9]+\s+tcp://127.0.0.1:[0-9]+' "$log" | grep -oE '[0-9]+$')
redis_port=$(grep -oE '^\s+cache\s+Redis\s+Healthy\s+[0-9]+\s+tcp://127.0.0.1:[0-9]+' "$log" | grep -oE '[0-9]+$')
export PGHOST=127.0.0.1 PGPORT=$pg_port PGUSER=postgres PGDATABASE=coredb PGPASSWORD=$(param postgres-password)
export REDISCLI_AUTH=$(param cache-password)
api="http://127.0.0.1:$gw"
login() { curl -fsS -H 'Content-Type: application/json' -d "{\"email\":\"$1\",\"password\":\"$2\"}" "$api/auth/login" | json accessToken; }
# query_latency token url -> "avg_ms p99_ms non2xx" for wrk -t1 -c2 over $secs seconds (after one warming call that
# fails loudly on an error).
query_latency() {
  curl -fsS -o /dev/null -H "Authorization: Bearer $1" "$api$2"
  wrk -t1 -c2 -d"${secs}s" --latency -H "Authorization: Bearer $1" "$api$2" | awk '
    function ms(v) { if (v ~ /us$/) { sub(/us/, "", v); return v / 1000 } if (v ~ /ms$/) { sub(/ms/, "", v); return v } sub(/s/, "", v); return v * 1000 }
    /^ +Latency +[0-9]/ { avg = ms($2) } /^ +99%/ { p99 = ms($2) } / Non-2xx/ { bad = $NF }
    END { printf "%.2f %.2f %s\n", avg, p99, (bad == "" ? 0 : bad) }'
}
# ratio_table width small-label large-label: one row per names[i] from the small[i] and large[i] query_latency lines,
# with the ratio of the averages; exits when any answer was not 2xx.
ratio_table() {
  printf "%-${1}s %22s %22s %10s\n" "query" "$2" "$3" "ratio avg"
  for i in "${!names[@]}"; do
    read -r sa sp sb <<<"${small[$i]}"; read -r la lp lb <<<"${large[$i]}"
    [[ $sb == 0 && $lb == 0 ]] || { echo "non-2xx answers: ${names[$i]}" >&2; exit 1; }
    printf "%-${1}s %10.2f / %7.2f ms %10.2f / %7.2f ms %9.1fx\n" "${names[$i]}" "$sa" "$sp" "$la" "$lp" "$(awk -v a="$la" -v b="$sa" 'BEGIN { print a / b }')"
  done
}
