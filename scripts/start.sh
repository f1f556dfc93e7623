#!/usr/bin/env bash
# README's first command: the whole product on embedded defaults (no Kafka, no PostgreSQL) from
# a fresh clone. On a machine with Node 24 it is just `npm ci && npm start`; where the system
# Node is older (this project's Debian 12 machines ship 20), Node 24 comes from the npm registry
# first (scripts/setup-node.sh), with the headers node-gyp needs for better-sqlite3.
# The Kafka client is an optional dependency: if its native build cannot run here, npm ci goes on
# without it and only Kafka mode asks for it (`CKJS_LINKING=dynamic npm ci`, see README).
# Extra arguments and environment go to the server (README "Configuration").
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip

major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$major" -lt 24 ]; then
  node_home="$(bash scripts/setup-node.sh)"
  export PATH="$node_home/bin:$PATH"
  export npm_config_nodedir="$node_home"
fi

# Install when node_modules is missing, older than the lock, or built for another Node (ABI).
abi="$(node -p process.versions.modules)"
stamp=node_modules/.installed-abi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$abi" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci
  echo "$abi" > "$stamp"
fi
exec npm start -- "$@"
