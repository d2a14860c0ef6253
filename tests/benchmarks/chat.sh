#!/usr/bin/env bash
# Chat benchmark (issue "AI chat"): non-streaming chat completions with mock-fast through the whole graph — Gateway
# (API-key auth, rate limiting with the limit set high, security headers), McpServer (parsing, price list, credits
# credit leases reserved and captured through CoreService and PostgreSQL, usage record through Redis to CoreService) — against, in the
# same run: the mock called directly (tests/benchmarks/ChatBaseline: the same parsing, mock answer and JSON with nothing
# else), and plain Kestrel. wrk -t2 -c50. Targets: >= 2,000 req/s through the hub; added p99 over the direct mock < 10 ms.
# The hub is measured twice: with requests spread over CHAT_BENCH_USERS users (default 32, one API key each: a company's
# hub) and with every request from one user (one hot credits account, whose ledger row every batch must lock).
#
#   tests/benchmarks/chat.sh [seconds-per-round=10] [rounds=5]   (about 10 minutes)
#
# Needs wrk (apt-get install -y wrk). Loopback only; everything it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
rounds=${2:-5}
users=${CHAT_BENCH_USERS:-32}
command -v wrk >/dev/null || { echo "wrk is missing: sudo apt-get install -y wrk" >&2; exit 1; }
state=$(mktemp -d /tmp/smarthub-bench-XXXXXX); chmod 755 "$state"
log=$(mktemp); lua=$(mktemp --suffix=.lua); multi=$(mktemp --suffix=.lua); keys=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$state" "$log" "$lua" "$multi" "$keys"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
gw=$(freeport); base=$(freeport)

dotnet build AppHost/AppHost.csproj -c Release -v q -nologo >/dev/null
dotnet build tests/benchmarks/ChatBaseline/ChatBaseline.csproj -c Release -v q -nologo >/dev/null

# High limits: the benchmark measures the cost of the limiter, not its refusals.
export RateLimits__Api__PermitsPerSecond=1000000 RateLimits__Api__Burst=1000000 RateLimits__Auth__PermitsPerSecond=1000000 RateLimits__Auth__Burst=1000000
export Logging__LogLevel__Default=Warning
export DOTNET_ENVIRONMENT=Production
SMARTHUB_DASHBOARD_ENABLED=false SMARTHUB_STATE_DIR=$state SMARTHUB_GATEWAY_PORT=$gw AppHost/bin/Release/net10.0/SmartHub.AppHost >"$log" 2>&1 &
pids+=($!)
until grep -q "resources healthy in" "$log"; do kill -0 "${pids[0]}" 2>/dev/null || { tail -30 "$log"; exit 1; }; sleep 0.1; done
hub="http://127.0.0.1:$gw"
admin_password=$(sed -nE 's/.*"admin-password": *"([^"]*)".*/\1/p' "$state/parameters.json")
token=$(curl -fsS -H 'Content-Type: application/json' -d "{\"email\":\"admin@smarthub.local\",\"password\":\"$admin_password\"}" "$hub/auth/login" | sed -nE 's/.*"accessToken": *"([^"]*)".*/\1/p')
admin_id=$(curl -fsS -H "Authorization: Bearer $token" "$hub/auth/me" | sed -nE 's/.*"id": *"([^"]*)".*/\1/p')
# Enough credits for every request of the run (each costs ~1 credit at mock-fast's price).
curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "{\"userId\":\"$admin_id\",\"amount\":1000000000,\"reason\":\"chat benchmark\",\"idempotencyKey\":\"bench-$RANDOM$RANDOM\"}" "$hub/api/v1/admin/credits/grants"
key=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"name":"bench"}' "$hub/auth/api-keys" | sed -nE 's/.*"key": *"([^"]*)".*/\1/p')
[[ -n "$key" ]] || { echo "could not create an API key"; exit 1; }
# The users of the spread measurement: registered, granted credits by the admin, one API key each (4 at a time).
new_user() { # index -> writes $keys/<index>
  trap - EXIT # runs in a background subshell, which must not run the cleanup when it ends
  local email="bench$1-$RANDOM$RANDOM@bench.smarthub.local" password="bench password $RANDOM$RANDOM$RANDOM" t id key
  curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "{\"email\":\"$email\",\"password\":\"$password\",\"displayName\":\"bench\"}" "$hub/auth/register"
  t=$(curl -fsS -H 'Content-Type: application/json' -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$hub/auth/login" | sed -nE 's/.*"accessToken": *"([^"]*)".*/\1/p')
  id=$(curl -fsS -H "Authorization: Bearer $t" "$hub/auth/me" | sed -nE 's/.*"id": *"([^"]*)".*/\1/p')
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"userId\":\"$id\",\"amount\":100000000,\"reason\":\"chat benchmark\",\"idempotencyKey\":\"bench-$id\"}" "$hub/api/v1/admin/credits/grants"
  key=$(curl -fsS -H "Authorization: Bearer $t" -H 'Content-Type: application/json' -d '{"name":"bench"}' "$hub/auth/api-keys" | sed -nE 's/.*"key": *"([^"]*)".*/\1/p')
  echo "$key" > "$keys/$1"
}
batch=()
for i in $(seq 1 "$users"); do
  new_user "$i" & batch+=($!)
  if (( ${#batch[@]} == 4 || i == users )); then wait "${batch[@]}"; batch=(); fi # not a bare wait: the AppHost is a child too
done
cat "$keys"/* | grep -c '^shk_' | grep -qx "$users" || { echo "could not create $users users"; exit 1; }
cat "$keys"/* > "$keys/all"

export DOTNET_gcServer=0
ASPNETCORE_URLS="http://127.0.0.1:$base" tests/benchmarks/ChatBaseline/bin/Release/net10.0/ChatBaseline >/dev/null 2>&1 &
pids+=($!)
until curl -fsS -o /dev/null "http://127.0.0.1:$base/ok" 2>/dev/null; do sleep 0.05; done

body='{"model":"mock-fast","max_tokens":64,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Benchmark question: what does an AI gateway do for a company?"}]}'
cat > "$lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "$key"
wrk.body = '$body'
LUA
cat > "$multi" <<LUA
local keys = {}
for line in io.lines("$keys/all") do keys[#keys + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$body'
request = function()
  i = i + 1
  wrk.headers["X-API-Key"] = keys[(i % #keys) + 1]
  return wrk.format()
end
LUA
curl -fsS -o /dev/null -H "X-API-Key: $key" -H 'Content-Type: application/json' -d "$body" "$hub/v1/chat/completions"
curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$base/v1/chat/completions"

sent=0
run() { # url [script] [connections] -> "rps p99ms non2xx requests"
  local out c=${3:-50} t=2
  (( c < 2 )) && t=1
  if [[ -n "${2:-}" ]]; then out=$(wrk -t"$t" -c"$c" -d"${secs}s" --latency -s "$2" "$1"); else out=$(wrk -t"$t" -c"$c" -d"${secs}s" --latency "$1"); fi
  awk '
    /Requests\/sec/ {rps=$2}
    /requests in/ {n=$1}
    /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; p99=v}
    / Non-2xx/ {bad=$NF}
    END {printf "%s %s %s %s\n", rps, p99, (bad==""?0:bad), n}' <<<"$out"
}
# Warm-up (tier-1 JIT under load; see gateway.sh): all sides in alternation, at least 4 rounds, until the hub stops rising.
prev=0
for i in $(seq 1 10); do
  r=$(run "$hub/v1/chat/completions" "$multi"); cur=${r%% *}
  r=$(run "$hub/v1/chat/completions" "$lua"); sent=$((sent + ${r##* }))
  run "http://127.0.0.1:$base/v1/chat/completions" "$lua" >/dev/null
  run "http://127.0.0.1:$base/ok" >/dev/null
  [[ $i -ge 4 ]] && awk -v c="$cur" -v p="$prev" 'BEGIN { exit !(p > 0 && c < p * 1.05) }' && break
  prev=$cur
done
echo "warm-up: $i rounds"
h=(); o=(); d=(); k=(); hl=(); dl=()
for i in $(seq 1 "$rounds"); do
  h+=("$(run "$hub/v1/chat/completions" "$multi")")
  o+=("$(run "$hub/v1/chat/completions" "$lua")"); sent=$((sent + ${o[-1]##* }))
  d+=("$(run "http://127.0.0.1:$base/v1/chat/completions" "$lua")")
  k+=("$(run "http://127.0.0.1:$base/ok")")
  # One connection: the latency the hub adds to a request when requests do not queue. At 50 connections the p99 is
  # mostly queueing for the 2 cores (mean latency = connections / throughput).
  hl+=("$(run "$hub/v1/chat/completions" "$multi" 1)")
  dl+=("$(run "http://127.0.0.1:$base/v1/chat/completions" "$lua" 1)")
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { local n=$1; shift; printf '%s\n' "$@" | awk -v n="$n" '{print $n}' | median; }
h_rps=$(col 1 "${h[@]}"); h_p99=$(col 2 "${h[@]}"); d_rps=$(col 1 "${d[@]}"); d_p99=$(col 2 "${d[@]}"); k_rps=$(col 1 "${k[@]}"); k_p99=$(col 2 "${k[@]}")
o_rps=$(col 1 "${o[@]}"); o_p99=$(col 2 "${o[@]}")
h_bad=$(printf '%s\n' "${h[@]}" "${o[@]}" | awk '{s+=$3} END {print s}')
ratio=$(for i in "${!h[@]}"; do awk -v a="${h[$i]%% *}" -v b="${d[$i]%% *}" 'BEGIN{print 100*a/b}'; done | median)
added=$(for i in "${!h[@]}"; do awk -v a="$(echo "${h[$i]}" | cut -d' ' -f2)" -v b="$(echo "${d[$i]}" | cut -d' ' -f2)" 'BEGIN{print a-b}'; done | median)
added_light=$(for i in "${!hl[@]}"; do awk -v a="$(echo "${hl[$i]}" | cut -d' ' -f2)" -v b="$(echo "${dl[$i]}" | cut -d' ' -f2)" 'BEGIN{print a-b}'; done | median)
hl_rps=$(col 1 "${hl[@]}"); hl_p99=$(col 2 "${hl[@]}"); dl_p99=$(col 2 "${dl[@]}")

# Nothing lost: every request the hub answered for the admin (the one-user measurement, its warm-up included) has its
# usage record stored, and nothing stays held.
stored=0
for _ in $(seq 1 100); do
  stored=$(curl -fsS -H "Authorization: Bearer $token" "$hub/api/v1/usage?groupBy=model" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["requests"])')
  [[ $stored -ge $((sent + 1)) ]] && break; sleep 0.2
done
balance=$(curl -fsS -H "Authorization: Bearer $token" "$hub/api/v1/credits/balance")

printf 'rounds: %s x %ss, wrk -t2 -c50, everything on this machine (2 cores)\n' "$rounds" "$secs"
printf 'hub, %3s users: gateway + McpServer + credits + usage: %8.0f req/s  p99 %7.2f ms  non-2xx %s (both hub rows)\n' "$users" "$h_rps" "$h_p99" "$h_bad"
printf 'hub, one user (one hot credits account):         %8.0f req/s  p99 %7.2f ms\n' "$o_rps" "$o_p99"
printf 'mock called directly (ChatBaseline):              %8.0f req/s  p99 %7.2f ms\n' "$d_rps" "$d_p99"
printf 'plain Kestrel "ok":                               %8.0f req/s  p99 %7.2f ms\n' "$k_rps" "$k_p99"
printf 'hub (%s users) / direct mock (median of rounds): %.1f%%; added p99 (median of rounds): %.2f ms (target < 10 ms); hub target >= 2000 req/s\n' "$users" "$ratio" "$added"
printf 'one connection (no queueing): hub (%s users) %.0f req/s p99 %.2f ms; direct mock p99 %.2f ms; added p99 (median of rounds): %.2f ms\n' "$users" "$hl_rps" "$hl_p99" "$dl_p99" "$added_light"
printf 'requests answered for the admin (wrk counts, warm-up included): %s; usage records stored: %s (+1 for the first curl)\n' "$sent" "$stored"
printf 'admin balance after the run: %s\n' "$balance"
