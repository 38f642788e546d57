#!/usr/bin/env bash
# The main job on an embedded default: installs npm dependencies if missing, builds, runs `strata demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund || npm install --no-audit --no-fund
npm run build --silent
node bin/strata.js demo "$@"
