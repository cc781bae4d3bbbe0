#!/usr/bin/env bash
# Installs what the console's browser tests drive: Debian's Chromium and its WebDriver
# (chromedriver). Does nothing when both are already there; CI runs it before the tests, and a
# developer runs it once. Needs root (or sudo) and the Debian mirrors.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi

# shellcheck source=scripts/apt-install.sh
source "$(dirname "$0")/apt-install.sh"
apt_install install-browser chromium chromium-driver fonts-dejavu-core

command -v chromium >/dev/null && command -v chromedriver >/dev/null
echo "install-browser: $(chromium --version 2>/dev/null), $(chromedriver --version 2>/dev/null | head -n 1)"
