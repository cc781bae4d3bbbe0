#!/usr/bin/env bash
# Installs HAProxy, the reverse proxy of docs/deploying.md, whose test runs the guide as written.
# Does nothing when it is already there; the test runs it when it is missing, and CI before the
# tests. Needs root (or sudo) and the Debian mirrors.
set -euo pipefail

if command -v haproxy >/dev/null 2>&1; then
    exit 0
fi

# shellcheck source=scripts/apt-install.sh
source "$(dirname "$0")/apt-install.sh"
apt_install install-haproxy haproxy

echo "install-haproxy: $(haproxy -v 2>/dev/null | head -n 1)"
