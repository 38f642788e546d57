#!/usr/bin/env bash
# The whole test suite: installs what it needs (Debian packages, a Node >= 22, npm packages),
# builds, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/node-env.sh
if [ "${CI:-}" = "true" ] || [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
npm run build
npm run lint
npx vitest run "$@"
