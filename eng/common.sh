# shellcheck shell=bash
# Shared helpers for smarthub.sh and eng/*.sh: messages, colored only on a terminal.
# Honors NO_COLOR (https://no-color.org).

if [[ -t 1 && -z "${NO_COLOR:-}" && "${TERM:-}" != dumb ]]; then
  _c_step=$'\e[1;34m' _c_ok=$'\e[32m' _c_off=$'\e[0m'
else
  _c_step='' _c_ok='' _c_off=''
fi
if [[ -t 2 && -z "${NO_COLOR:-}" && "${TERM:-}" != dumb ]]; then
  _c_warn=$'\e[33m' _c_err=$'\e[1;31m' _c_eoff=$'\e[0m'
else
  _c_warn='' _c_err='' _c_eoff=''
fi

step() { printf '%s==> %s%s\n' "$_c_step" "$*" "$_c_off"; }
ok()   { printf '%s    %s%s\n' "$_c_ok" "$*" "$_c_off"; }
warn() { printf '%swarning: %s%s\n' "$_c_warn" "$*" "$_c_eoff" >&2; }
err()  { printf '%serror: %s%s\n' "$_c_err" "$*" "$_c_eoff" >&2; }
die()  { err "$@"; exit 1; }

# Seconds since the epoch with millisecond precision (bash 5 EPOCHREALTIME), for timings.
now() { local t=${EPOCHREALTIME:-}; if [[ -n $t ]]; then t=${t/,/.}; echo "${t%???}"; else date +%s; fi; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
