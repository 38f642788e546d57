#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ "${CI:-}" = "true" ] || [ ! -d node_modules ]; then
  # npm ci refuses a lock file without entries for other platforms' optional packages (which
  # this registry does not serve); npm install then installs exactly the locked versions.
  npm ci --no-audit --no-fund || npm install --no-audit --no-fund
fi
npm run build
npm run lint
npx vitest run "$@"
