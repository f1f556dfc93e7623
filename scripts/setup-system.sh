#!/usr/bin/env bash
# System packages (Debian 12) that the product's tests and tools need, installed only when
# missing, so a second run is a no-op that touches no network:
#   openjdk-17-jre-headless, maven   Kafka broker (scripts/kafka.sh resolves its jars with Maven)
#   postgresql (15)                  PostgreSQL store tests (scripts/postgres.sh)
#   python3-torch, python3-venv      the model (venv with --system-site-packages, scripts/setup-python.sh)
#   libopenblas0-pthread             fast BLAS for Debian's torch (the reference BLAS is ~8x slower)
#   espeak-ng, sox                   speech synthesis and telephone-channel effects of the data generator
#   flite                            the corpus's held-out test voice family (Flite 2.2, libflite1)
#   chromium                         browser tests of the dashboard (playwright-core drives it)
#   util-linux, procps               flock/setsid/runuser used by the service scripts
#   build-essential, python3         node-gyp builds better-sqlite3 from source when its prebuilt
#                                    binary cannot be downloaded (GitHub is not a package registry)
#   libssl-dev, zlib1g-dev           TLS and compression for librdkafka, which
#                                    @confluentinc/kafka-javascript builds from its bundled source
#                                    (CKJS_LINKING=dynamic, set by .ci/run) for the same reason
# Extra packages can be appended with SETUP_SYSTEM_EXTRA="pkg1 pkg2".
set -euo pipefail

packages=(
  openjdk-17-jre-headless maven
  postgresql
  python3-torch python3-venv libopenblas0-pthread
  espeak-ng sox flite
  chromium
  util-linux procps ca-certificates
  build-essential python3
  libssl-dev zlib1g-dev
)
# shellcheck disable=SC2206
packages+=(${SETUP_SYSTEM_EXTRA:-})

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-system: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "setup-system: installing ${missing[*]}"
t0=$SECONDS
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-system: done in $((SECONDS - t0)) s"
