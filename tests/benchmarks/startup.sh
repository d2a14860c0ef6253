#!/usr/bin/env bash
# Start-up benchmark of the AppHost (issue "Foundation"): how long from `dotnet run --project AppHost`
# (already built) until every resource is healthy, and the AppHost's memory (RSS) once running.
# Baseline in the same run: one ASP.NET process alone (tests/benchmarks/BareProxy, no dependencies) from exec until
# it answers HTTP — the floor any graph start pays at least once. Reports medians and the ratio.
#
#   tests/benchmarks/startup.sh [runs=5]
#
# Loopback only; everything it starts is stopped by PID. Uses a temporary state folder (warm after run 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
state=$(mktemp -d /tmp/smarthub-bench-XXXXXX)
chmod 755 "$state"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18181)
log=$(mktemp)
cleanup() { [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$state" "$log"; }
trap cleanup EXIT

dotnet build AppHost/AppHost.csproj -c Release -v q -nologo >/dev/null
dotnet build tests/benchmarks/BareProxy/BareProxy.csproj -c Release -v q -nologo >/dev/null
apphost=AppHost/bin/Release/net10.0/SmartHub.AppHost
single=tests/benchmarks/BareProxy/bin/Release/net10.0/BareProxy
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { print a - b }'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

graph_times=(); rss=(); base_times=()
# Run 0 initializes PostgreSQL (initdb) in the fresh state folder; it is reported apart, not in the median.
for i in $(seq 0 "$runs"); do
  start=$(now)
  SMARTHUB_STATE_DIR=$state SMARTHUB_GATEWAY_PORT=$port "$apphost" >"$log" 2>&1 &
  pid=$!
  until grep -q "resources healthy in" "$log"; do
    kill -0 "$pid" 2>/dev/null || { echo "AppHost exited:"; tail -20 "$log"; exit 1; }
    sleep 0.02
  done
  t=$(elapsed "$start")
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null
  sleep 1
  r=$(awk '/VmRSS/ {print $2/1024}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true; pid=
  if [[ $i -eq 0 ]]; then cold=$t; else graph_times+=("$t"); rss+=("$r"); fi

  # Baseline: one ASP.NET process alone until it answers HTTP (any status: its destination is deliberately absent).
  start=$(now)
  ASPNETCORE_URLS="http://127.0.0.1:$port" "$single" --destination http://127.0.0.1:9 >/dev/null 2>&1 &
  pid=$!
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null)" != "000" ]]; do
    kill -0 "$pid" 2>/dev/null || { echo "the baseline process exited"; exit 1; }
    sleep 0.01
  done
  base_times+=("$(elapsed "$start")")
  kill -TERM "$pid"; wait "$pid" || true; pid=
done

g=$(printf '%s\n' "${graph_times[@]}" | median)
b=$(printf '%s\n' "${base_times[@]}" | median)
m=$(printf '%s\n' "${rss[@]}" | median)
printf 'first start (initdb included):        %.2f s\n' "$cold"
printf 'graph start to all healthy (median):  %.2f s   target < 8 s\n' "$g"
printf 'one ASP.NET process to first answer:  %.2f s\n' "$b"
printf 'ratio graph / one service:            %.1fx\n' "$(awk -v a="$g" -v b="$b" 'BEGIN { print a / b }')"
printf 'AppHost RSS once running (median):    %.0f MB  target < 150 MB\n' "$m"
