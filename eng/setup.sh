#!/usr/bin/env bash
# Prerequisites of SmartHub, installed or checked; called by `./smarthub.sh setup|run|test`.
#   - .NET 10 SDK (checked; install instructions printed when missing)
#   - PostgreSQL server binaries, redis-server, util-linux (setpriv, runuser), promtool (package prometheus: the
#     tests check deploy/prometheus's alert rules with it), chromium (the dashboard's browser tests drive it headless
#     with Playwright; no tool may download a browser of its own): installed with apt-get when missing (as root or
#     with passwordless sudo), without starting system services
#   - Node.js with npm (package nodejs when missing) and the npm packages of tests/k8s-validate (kubernetes-models,
#     yaml: schema validation of the Kubernetes manifests the AppHost publishes), installed with `npm ci` from the
#     lock file when node_modules is missing or older than it; kubectl (its built-in kustomize renders those
#     manifests in the tests) checked: it comes with the machine image, and Debian's own kubernetes-client (1.20,
#     kustomize v2) is too old for the published kustomizations, so a missing one is reported, not installed
#   - eng/local-feed with System.IO.Hashing, packed from the SDK's own copy when the NuGet
#     registry lacks the version pinned in Directory.Packages.props (Yarp.ReverseProxy needs it)
# Idempotent, and quick when everything is already present (no network, no apt-get).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
# shellcheck source=eng/common.sh
source eng/common.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

is_root() { [[ $(id -u) -eq 0 ]]; }
have() { command -v "$1" >/dev/null 2>&1; }
# A program that may live in an sbin directory outside a normal user's PATH.
find_prog() {
  local d
  if have "$1"; then command -v "$1"; return 0; fi
  for d in /usr/sbin /sbin /usr/bin /bin; do
    [[ -x $d/$1 ]] && { echo "$d/$1"; return 0; }
  done
  return 1
}
# The bin directory of the PostgreSQL server (initdb, pg_ctl, postgres) the AppHost will use:
# SMARTHUB_POSTGRES_BIN, else the newest /usr/lib/postgresql/*/bin.
pg_bindir() {
  local d best='' dirs=(/usr/lib/postgresql/*/bin)
  [[ -z ${SMARTHUB_POSTGRES_BIN:-} ]] || dirs=("$SMARTHUB_POSTGRES_BIN")
  for d in "${dirs[@]}"; do
    [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]] && best=$d
  done
  [[ -n $best ]] && echo "$best"
}
# The redis-server the AppHost will use: SMARTHUB_REDIS_SERVER, else redis-server on PATH.
redis_server() {
  if [[ -n ${SMARTHUB_REDIS_SERVER:-} ]]; then
    [[ -x $SMARTHUB_REDIS_SERVER ]] && echo "$SMARTHUB_REDIS_SERVER"
  else
    find_prog redis-server
  fi
}
# The Chromium the browser tests drive (tests/SmartHub.IntegrationTests/Dashboard/BrowserFixture.cs reads the same
# variable): SMARTHUB_CHROMIUM, else /usr/bin/chromium (package chromium).
chromium_path() {
  local p=${SMARTHUB_CHROMIUM:-/usr/bin/chromium}
  [[ -x $p ]] && echo "$p"
}
# The unprivileged user PostgreSQL runs as when the AppHost runs as root.
PG_USER=${SMARTHUB_POSTGRES_USER:-postgres}

# ---------------------------------------------------------------- .NET SDK
SDK_DIR=''
check_dotnet() {
  local sdks line
  if have dotnet; then
    sdks=$(dotnet --list-sdks 2>/dev/null || true)
    # "10.0.401 [/usr/share/dotnet/sdk]" -> "/usr/share/dotnet/sdk/10.0.401" (newest 10.x)
    line=$(grep -E '^10\.' <<<"$sdks" | sort -V | tail -1 || true)
    if [[ -n $line ]]; then
      SDK_DIR="$(sed -E 's/^[^ ]+ \[(.*)\]$/\1/' <<<"$line")/${line%% *}"
      return 0
    fi
  fi
  err "the .NET 10 SDK is required (found: $(have dotnet && dotnet --list-sdks 2>/dev/null | awk '{print $1}' | paste -sd' ' - || echo 'no dotnet'))."
  cat >&2 <<'MSG'
  Install it, then run this again:
    - Debian/Ubuntu: https://learn.microsoft.com/dotnet/core/install/linux (package dotnet-sdk-10.0), or
    - any Linux:     curl -sSL https://dot.net/v1/dotnet-install.sh | bash -s -- --channel 10.0
                     export PATH="$HOME/.dotnet:$PATH"
MSG
  exit 1
}

# ---------------------------------------------------------------- system packages
missing_packages() {
  local pkgs=()
  pg_bindir >/dev/null || pkgs+=(postgresql)
  redis_server >/dev/null || pkgs+=(redis-server)
  # promtool checks and unit-tests deploy/prometheus/smarthub-alerts.yml in the tests (no Prometheus server is run).
  find_prog promtool >/dev/null || pkgs+=(prometheus)
  # Headless Chromium for the dashboard's browser tests (Playwright drives it; it never downloads its own).
  chromium_path >/dev/null || pkgs+=(chromium)
  # Node.js and npm: the Kubernetes manifests' schema validation (tests/k8s-validate) runs on them.
  { have node && have npm; } || pkgs+=(nodejs npm)
  if is_root; then
    # The AppHost runs PostgreSQL as the unprivileged `postgres` user (created by the
    # postgresql packages) through setpriv/runuser (util-linux).
    { find_prog setpriv >/dev/null && find_prog runuser >/dev/null; } || pkgs+=(util-linux)
    if [[ $PG_USER == postgres && " ${pkgs[*]} " != *" postgresql "* ]] && ! id -u postgres >/dev/null 2>&1; then
      pkgs+=(postgresql-common)
    fi
  fi
  echo "${pkgs[*]}"
}

POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_CREATED=''
cleanup() { if [[ -n $POLICY_RC_CREATED ]]; then ${SUDO:-} rm -f "$POLICY_RC"; fi; }
trap cleanup EXIT

SUDO=''
install_packages() {
  local pkgs=("$@")
  local cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkgs[*]}"
  if ! have apt-get; then
    die "missing: ${pkgs[*]}. Install them with your package manager (PostgreSQL server, Redis server, util-linux, Prometheus' promtool, Chromium, Node.js with npm) and run this again."
  fi
  if is_root; then
    SUDO=''
  elif have sudo && sudo -n true 2>/dev/null; then
    SUDO='sudo'
  else
    err "missing: ${pkgs[*]}, and installing needs root (no passwordless sudo here). Run:"
    printf '    sudo sh -c "%s"\n' "$cmd" >&2
    echo "  then run this again." >&2
    exit 1
  fi
  step "Installing ${pkgs[*]} (apt-get)"
  # Keep the packages' system services from being started by the install: SmartHub's AppHost
  # runs its own PostgreSQL and Redis processes on its own ports. (Debian's standard hook.)
  if [[ ! -e $POLICY_RC ]]; then
    $SUDO sh -c "printf '#!/bin/sh\nexit 101\n' > $POLICY_RC && chmod 755 $POLICY_RC"
    POLICY_RC_CREATED=1
  fi
  $SUDO apt-get update -qq </dev/null || warn "apt-get update failed; trying to install from the current package lists"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Use-Pty=0 "${pkgs[@]}" </dev/null >/dev/null \
    || die "apt-get install failed. Try by hand: sudo sh -c \"$cmd\""
  cleanup
  POLICY_RC_CREATED=''
}

check_system() {
  local missing
  missing=$(missing_packages)
  if [[ -n $missing ]]; then
    # shellcheck disable=SC2086 # word splitting intended: a list of package names
    install_packages $missing
    missing=$(missing_packages)
    [[ -z $missing ]] || die "still missing after apt-get install: $missing"
  fi
  if is_root && ! id -u "$PG_USER" >/dev/null 2>&1; then
    die "user '$PG_USER' (PostgreSQL runs as it when the AppHost runs as root) is missing. Create it: adduser --system --group --home /var/lib/postgresql $PG_USER"
  fi
  ok "PostgreSQL $("$(pg_bindir)/postgres" --version | awk '{print $3}'), $("$(redis_server)" --version | awk '{print $1, $3}' | sed 's/v=//'), promtool $("$(find_prog promtool)" --version 2>&1 | awk 'NR==1 {print $3}'), $(chromium_version)"
}

# "Chromium 156.0.8078.79" without starting a browser: from the package's version when it is Debian's
# /usr/bin/chromium (its --version runs the wrapper script and the binary, ~0.1 s), else from --version.
chromium_version() {
  local p v
  p=$(chromium_path)
  if [[ $p == /usr/bin/chromium ]] && have dpkg-query; then
    v=$(dpkg-query -W -f='${Version}' chromium 2>/dev/null || true)
    [[ -n $v ]] && { echo "Chromium ${v%%-*}"; return 0; }
  fi
  "$p" --version 2>/dev/null | awk '{print $1, $2}'
}

# When root, PostgreSQL runs as $PG_USER: it must be able to reach the state folder.
check_state_dir() {
  is_root || return 0
  local dir=${SMARTHUB_STATE_DIR:-$PWD/.smarthub}
  [[ $dir == /* ]] || dir=$PWD/$dir
  while [[ ! -e $dir && $dir != / ]]; do dir=$(dirname "$dir"); done
  local runuser
  runuser=$(find_prog runuser) || return 0
  if ! "$runuser" -u "$PG_USER" -- test -x "$dir" 2>/dev/null; then
    warn "the '$PG_USER' user cannot traverse $dir, so PostgreSQL cannot use the state folder there."
    warn "  give it access (chmod o+x on each parent folder) or set SMARTHUB_STATE_DIR, e.g. export SMARTHUB_STATE_DIR=/var/tmp/smarthub"
  fi
}

# ---------------------------------------------------------------- Kubernetes manifests' test tools
# tests/SmartHub.UnitTests/Publishing renders the published kustomize tree with `kubectl kustomize` and validates every
# object with the npm package kubernetes-models (tests/k8s-validate/validate.mjs).
K8S_VALIDATE_DIR=tests/k8s-validate
check_k8s_tools() {
  local kubectl version lock=$K8S_VALIDATE_DIR/package-lock.json installed=$K8S_VALIDATE_DIR/node_modules/.package-lock.json
  if kubectl=$(find_prog kubectl) && "$kubectl" kustomize --help >/dev/null 2>&1; then
    version=$("$kubectl" version --client 2>/dev/null | awk '/^Client Version/ {c=$3} /^Kustomize Version/ {k=$3} END {print c " (kustomize " k ")"}')
    ok "kubectl $version"
  else
    warn "kubectl with kustomize v4+ (kubectl 1.21 or newer) is missing: the Kubernetes publisher's tests render the published"
    warn "  manifests with it and fail without it. Install kubectl from the Kubernetes project's packages (Debian's"
    warn "  kubernetes-client is 1.20, too old), or put a kubectl binary on PATH."
  fi

  if [[ -f $installed && -f $K8S_VALIDATE_DIR/node_modules/kubernetes-models/package.json && ! $lock -nt $installed ]]; then
    ok "kubernetes-models $(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$K8S_VALIDATE_DIR/node_modules/kubernetes-models/package.json" | head -1) ($K8S_VALIDATE_DIR/node_modules)"
    return 0
  fi
  step "Installing the npm packages of $K8S_VALIDATE_DIR (npm ci)"
  # kubernetes-models 5 declares node >= 22; it runs on the machine's Node 20 (checked by its tests): no engine-strict.
  (cd "$K8S_VALIDATE_DIR" && npm ci --no-audit --no-fund --loglevel=error </dev/null) \
    || die "npm ci failed in $K8S_VALIDATE_DIR (the npm registry must be reachable the first time)"
  ok "kubernetes-models installed in $K8S_VALIDATE_DIR/node_modules"
}

# ---------------------------------------------------------------- local NuGet feed
check_local_feed() {
  local ver feed=eng/local-feed nupkg cache code dll
  ver=$(sed -n 's/.*Include="System\.IO\.Hashing"[^>]*Version="\([^"]*\)".*/\1/p' Directory.Packages.props | head -1)
  [[ -n $ver ]] || die "no System.IO.Hashing version pinned in Directory.Packages.props"
  # nuget.config lists this folder as a source: restore fails if it does not exist.
  mkdir -p "$feed"
  nupkg=$feed/System.IO.Hashing.$ver.nupkg
  if [[ -f $nupkg ]]; then
    ok "System.IO.Hashing $ver: $nupkg"; return 0
  fi
  cache=${NUGET_PACKAGES:-$HOME/.nuget/packages}/system.io.hashing/$ver
  if [[ -f $cache/.nupkg.metadata ]]; then
    ok "System.IO.Hashing $ver: already in the NuGet packages folder"; return 0
  fi
  code=000
  if have curl; then
    code=$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time 20 \
      "https://api.nuget.org/v3-flatcontainer/system.io.hashing/$ver/system.io.hashing.$ver.nupkg" || true)
  fi
  if [[ $code == 200 ]]; then
    ok "System.IO.Hashing $ver: served by the NuGet registry"; return 0
  fi
  step "Packing System.IO.Hashing $ver from the .NET SDK into $feed (the NuGet registry lacks it or is unreachable)"
  dll=$SDK_DIR/Sdks/Microsoft.NET.Sdk/tools/net10.0/System.IO.Hashing.dll
  if [[ ! -f $dll ]]; then
    # shellcheck disable=SC2012
    dll=$(ls -d "$(dirname "$SDK_DIR")"/10.*/Sdks/Microsoft.NET.Sdk/tools/net10.0/System.IO.Hashing.dll 2>/dev/null | sort -V | tail -1 || true)
  fi
  [[ -n $dll && -f $dll ]] || die "System.IO.Hashing.dll not found in the .NET SDK ($SDK_DIR); cannot build $nupkg"
  dotnet pack eng/system-io-hashing/System.IO.Hashing.Pack.csproj --nologo -v q \
    "-p:HashingVersion=$ver" "-p:HashingDll=$dll" </dev/null \
    || die "dotnet pack of System.IO.Hashing failed"
  [[ -f $nupkg ]] || die "dotnet pack did not produce $nupkg"
  ok "System.IO.Hashing $ver: packed $nupkg"
}

main() {
  step "Checking prerequisites"
  check_dotnet
  ok ".NET SDK ${SDK_DIR##*/}"
  check_system
  check_state_dir
  check_k8s_tools
  check_local_feed
}

# Run when executed; only define the functions when sourced (for tests of this script).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
