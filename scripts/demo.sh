#!/usr/bin/env bash
# The main job on an embedded default: installs a Node >= 22 and the npm packages if missing,
# builds, runs `strata demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
node bin/strata.js demo "$@"
