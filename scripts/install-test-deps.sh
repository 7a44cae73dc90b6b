#!/usr/bin/env bash
# Installs what the test suite uses beyond a Rust toolchain, on a Debian or Ubuntu machine
# (apt; run as root): curl, openssl (the TLS tests' certificates), skopeo and Debian's docker-registry (the OCI tests), clang-19,
# lld-19, llvm-19 and wasi-libc (the JavaScript runtime), npm (the JS tests install real npm
# packages from their lockfiles with `npm ci`), and kubernetes-validate from PyPI
# (the Kubernetes manifests). What is already there is not installed again.
#
# usage: scripts/install-test-deps.sh && cargo test --workspace --locked
set -euo pipefail

packages="curl openssl skopeo docker-registry clang-19 lld-19 llvm-19 wasi-libc npm"
if ! command -v curl >/dev/null 2>&1 || ! command -v clang-19 >/dev/null 2>&1 ||
   ! command -v openssl >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 ||
   ! command -v skopeo >/dev/null 2>&1 || ! command -v docker-registry >/dev/null 2>&1 ||
   [ ! -f /usr/include/wasm32-wasi/stdlib.h ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get was not found, so the test prerequisites cannot be installed" >&2
    echo "help: install these with your package manager: $packages, and kubernetes-validate (pip)" >&2
    exit 1
  fi
  echo "==> installing the test prerequisites: apt-get install $packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
fi
# Validates the manifests of `deploy --k8s` against Kubernetes' schemas (bundled: no network
# at test time). A Debian python refuses system-wide pip installs; allow it for this tool.
if ! command -v kubernetes-validate >/dev/null 2>&1; then
  echo "==> installing kubernetes-validate (pip)" >&2
  python3 -m pip install -q kubernetes-validate ||
    python3 -m pip install -q --break-system-packages kubernetes-validate
fi
