#!/usr/bin/env bash
# Installs the Debian 12 packages Steward needs. Idempotent: when every package is present it
# prints one line and touches nothing. Runs as root (CI and a fresh machine); as another user it
# uses sudo when available.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.74-dev
  libsqlite3-dev sqlite3
  libeigen3-dev
  libfaiss-dev libopenblas-dev libblas-dev liblapack-dev libomp-dev
  libimgui-dev libstb-dev libglfw3-dev libgl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libyaml-cpp-dev
  libpng-dev libssl-dev libfreetype-dev libcairo2-dev
  xvfb xauth fonts-dejavu-core
  clang libclang-rt-14-dev
  wrk nginx-light curl
  clickhouse-server clickhouse-client zookeeper
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# node and npm (the GrowthBook SDK test, tests/sdk): Debian's packages unless a node with npm is
# already installed (e.g. from NodeSource, whose nodejs package ships npm and conflicts with Debian's).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# The official GrowthBook JavaScript SDK for tests/sdk (npm, the version pinned by its
# package-lock.json), installed once next to the test.
install_sdk() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/sdk"
  if [ ! -d "$dir/node_modules/@growthbook/growthbook" ] && command -v npm >/dev/null 2>&1; then
    echo "install-deps: installing the GrowthBook JS SDK for tests/sdk (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --silent) || echo "install-deps: npm ci in tests/sdk failed; tests/sdk/sdk_test.sh will say so" >&2
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  install_sdk
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: missing packages (${missing[*]}) and not root; run as root or install them" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_sdk
echo "install-deps: done"
