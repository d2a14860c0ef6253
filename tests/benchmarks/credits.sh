#!/usr/bin/env bash
# Credits ledger benchmark (issue: reserve+capture pairs per second over HTTP, as McpServer calls them; target >= 3,000
# pairs/s across users on a 2-core machine). Starts the hub in Release and drives CoreService's internal API directly
# (its own port, X-Internal-Token, not through the gateway) with tests/benchmarks/CreditsBench: N workers, each doing
# reserve(10) -> capture(7) pairs back to back, for 1,000 distinct users (round robin) and for one hot user; with
# CreditsClient as McpServer calls it (overlapping calls share batch requests and transactions: "client"), and with one
# request per call ("http"). Baseline in the same run, side by side in every round: the same two SQL functions, with the
# same statements as CoreService, one transaction per call, straight from Npgsql at the same concurrency ("db").
# Reports pairs/s, the ratios to db, p50/p99 of a pair and the CPU split per pair, for a sweep of concurrencies; then checks that every pair answered 201 then 200, the ledger invariant (GET /internal/credits/check),
# and, independently, that the database holds exactly the pairs counted and every account its grants minus its captures.
#
#   tests/benchmarks/credits.sh [seconds-per-measurement=5] [rounds=3] [workers=16,64,128,256] [modes=client-users,http-users,db-users,client-hot,http-hot,db-hot]
#   CREDITS_BENCH_ARGS="--client-requests 4 --client-batch 128" sets CreditsClient's options.
#
# About 10 minutes with the defaults. Setup only, not measured: the 1,001 users are inserted straight into authdb (the
# register API hashes a password per user, ~0.15 s each) with a password hash that never verifies; their accounts are
# opened by admin grants through the gateway (CoreService confirms each user with AuthService). Exit code 1 when a
# check fails. Not part of `dotnet test`. Loopback only; everything it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5}
rounds=${2:-3}
workers=${3:-16,64,128,256}
modes=${4:-client-users,http-users,db-users,client-hot,http-hot,db-hot}
state=$(mktemp -d /tmp/smarthub-bench-XXXXXX); chmod 755 "$state"
log=$(mktemp); pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$state" "$log"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
gw=$(freeport)

dotnet build AppHost/AppHost.csproj -c Release -v q -nologo >/dev/null
dotnet build tests/benchmarks/CreditsBench/CreditsBench.csproj -c Release -v q -nologo >/dev/null

# The setup's 1,001 admin grants go through the gateway: limits high enough not to refuse them.
export RateLimits__Api__PermitsPerSecond=1000000 RateLimits__Api__Burst=1000000 RateLimits__Auth__PermitsPerSecond=1000000 RateLimits__Auth__Burst=1000000
export DOTNET_ENVIRONMENT=Production
SMARTHUB_DASHBOARD_ENABLED=false SMARTHUB_STATE_DIR=$state SMARTHUB_GATEWAY_PORT=$gw AppHost/bin/Release/net10.0/SmartHub.AppHost >"$log" 2>&1 &
pids+=($!)
until grep -q "resources healthy in" "$log"; do kill -0 "${pids[0]}" 2>/dev/null || { tail -30 "$log"; exit 1; }; sleep 0.1; done

# The summary table: "  core       Project     Healthy   27611    http://127.0.0.1:42029".
row() { grep -E "^\s+$1\s+\S+\s+Healthy\s+" "$log" | tail -1; }
core=$(row core | grep -oE 'http://[0-9.:]+')
pg_port=$(row postgres | grep -oE ':[0-9]+$' | tr -d :)
pidlist=$(for r in core postgres auth gateway mcp cache; do printf '%s=%s,' "$r" "$(row "$r" | awk '{print $4}')"; done)

echo "credits ledger benchmark: $(nproc) cores, $(uptime | sed 's/.*load/load/'); core $core, PostgreSQL on port $pg_port"
DOTNET_gcServer=0 tests/benchmarks/CreditsBench/bin/Release/net10.0/CreditsBench \
  --core "$core" --gateway "http://127.0.0.1:$gw" --state "$state" --postgres-port "$pg_port" --pids "${pidlist%,}" \
  --seconds "$secs" --rounds "$rounds" --workers "$workers" --modes "$modes" ${CREDITS_BENCH_ARGS:-}
