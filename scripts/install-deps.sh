#!/usr/bin/env bash
# Installs the Debian packages the test suite runs against (Prometheus/promtool as the
# format oracle, etcd, Swift with s3api, memcached, openssl for the TLS tests' certificates,
# Chromium for the web UI's browser tests) when they are missing.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v swift-proxy-server >/dev/null 2>&1 || need+=(swift swift-proxy swift-account swift-container swift-object)
command -v memcached >/dev/null 2>&1 || need+=(memcached)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The packages start system services we do not use; tests run their own on loopback.
for svc in prometheus etcd memcached; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
done
