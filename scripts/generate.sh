#!/usr/bin/env bash
# Generates TypeScript for proto/ into gen/ (git-ignored) with the buf binary and protoc-gen-es
# installed by npm. Needs no network: no remote plugins, no dependencies on the BSR.
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install buf generate
