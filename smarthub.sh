#!/usr/bin/env bash
# SmartHub's one entry point. `./smarthub.sh help` for the commands.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
# shellcheck source=eng/common.sh
source eng/common.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

usage() {
  cat <<'USAGE'
Usage: ./smarthub.sh <command> [args]

Commands:
  setup          Install/check prerequisites (.NET 10 SDK, PostgreSQL, redis-server, the local
                 NuGet feed for System.IO.Hashing), then `dotnet restore SmartHub.sln`.
                 Afterwards plain `dotnet build|run|test` work too.
  run [args]     setup, build, then run the AppHost: PostgreSQL, Redis and all services;
                 the hub on http://127.0.0.1:8080 (SMARTHUB_GATEWAY_PORT). Ctrl+C stops all.
                 [args] go to the AppHost.
  test [args]    setup, build, `dotnet test SmartHub.sln` ([args] go to dotnet test, e.g.
                 --filter Category=Unit); ends with one line "N passed, N failed[, N skipped]".
  help           This text.

Environment: SMARTHUB_STATE_DIR (default .smarthub/), SMARTHUB_GATEWAY_PORT (default 8080),
Parameters__<name> (e.g. Parameters__postgres-password). See README.md.
USAGE
}

setup() { bash eng/setup.sh; }

build() { # build <configuration> <project or solution>
  local t0; t0=$(now)
  step "Building $2 ($1)"
  dotnet build "$2" -c "$1" --nologo -v q </dev/null || die "build failed"
  ok "built in $(elapsed "$t0")"
}

cmd_setup() {
  setup
  step "Restoring SmartHub.sln"
  dotnet restore SmartHub.sln --nologo -v q </dev/null || die "restore failed (System.IO.Hashing? see README.md, Troubleshooting)"
  ok "ready: ./smarthub.sh run | ./smarthub.sh test (or dotnet run --project AppHost | dotnet test)"
}

cmd_run() {
  setup
  build Debug AppHost/AppHost.csproj   # builds the service projects it references too
  step "Starting the AppHost (Ctrl+C stops everything)"
  exec dotnet run --project AppHost -c Debug --no-build -- "$@"
}

# Sums VSTest's per-assembly lines
#   "Passed!  - Failed:     0, Passed:    12, Skipped:     0, Total:    12, Duration: ..."
# (and, as a fallback, Microsoft.Testing.Platform's "total:/failed:/succeeded:/skipped:" blocks)
# into "passed failed skipped total".
sum_results() {
  sed -E 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[=>]//g' "$1" | awk '
    function num(s) { gsub(/[^0-9]/, "", s); return s + 0 }
    /(Passed|Failed)! +- +Failed: *[0-9]+, *Passed: *[0-9]+, *Skipped: *[0-9]+, *Total: *[0-9]+/ {
      vs = 1
      n = split($0, f, ",")
      for (i = 1; i <= n; i++) {
        if (f[i] ~ /Failed: *[0-9]+/)  { s = f[i]; sub(/.*Failed:/, "", s);  F += num(s) }
        if (f[i] ~ /Passed: *[0-9]+/)  { s = f[i]; sub(/.*Passed:/, "", s);  P += num(s) }
        if (f[i] ~ /Skipped: *[0-9]+/) { s = f[i]; sub(/.*Skipped:/, "", s); S += num(s) }
        if (f[i] ~ /Total: *[0-9]+/)   { s = f[i]; sub(/.*Total:/, "", s);   T += num(s) }
      }
    }
    /^ *total: *[0-9]+ *$/     { mt += num($0) }
    /^ *failed: *[0-9]+ *$/    { mf += num($0) }
    /^ *succeeded: *[0-9]+ *$/ { mp += num($0) }
    /^ *skipped: *[0-9]+ *$/   { ms += num($0) }
    END {
      if (vs) print P + 0, F + 0, S + 0, T + 0
      else    print mp + 0, mf + 0, ms + 0, mt + 0
    }'
}

cmd_test() {
  local cfg='' args=("$@") i t0 t_setup t_build rc passed failed skipped total line
  for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
      -c|--configuration) cfg=${args[i+1]:-} ;;
      --configuration=*|-c=*) cfg=${args[i]#*=} ;;
    esac
  done
  # A configuration given in [args] goes to dotnet test as is, and is the one built.
  [[ -n $cfg ]] || { cfg=Debug; args=(-c Debug "${args[@]}"); }
  t0=$(now); setup; t_setup=$(elapsed "$t0")
  t0=$(now); build "$cfg" SmartHub.sln; t_build=$(elapsed "$t0")

  step "Testing"
  TEST_LOG=$(mktemp "${TMPDIR:-/tmp}/smarthub-test.XXXXXX")
  trap 'rm -f "$TEST_LOG"' EXIT
  t0=$(now)
  set +e
  dotnet test SmartHub.sln --no-build "${args[@]}" </dev/null 2>&1 | tee "$TEST_LOG"
  rc=${PIPESTATUS[0]}
  set -e
  read -r passed failed skipped total < <(sum_results "$TEST_LOG")
  echo
  echo "setup $t_setup, build $t_build, tests $(elapsed "$t0") (dotnet test exit code $rc)"
  if ((total == 0)); then
    err "no tests ran"
    ((rc != 0)) || rc=1
  elif ((rc != 0 && failed == 0)); then
    err "dotnet test failed without a failed test (aborted run or crashed test host?): see the output above"
  fi
  line="$passed passed, $failed failed"
  ((skipped == 0)) || line+=", $skipped skipped"
  echo "$line"
  return "$rc"
}

cmd=${1:-help}
(($# == 0)) || shift
case $cmd in
  setup) cmd_setup "$@" ;;
  run)   cmd_run "$@" ;;
  test)  cmd_test "$@" ;;
  help|-h|--help) usage ;;
  *) err "unknown command: $cmd"; usage >&2; exit 2 ;;
esac
