#!/usr/bin/env bash
# Installs what the console's browser tests drive: Debian's Chromium and its WebDriver
# (chromedriver). Does nothing when both are already there; CI runs it before the tests, and a
# developer runs it once. Needs root (or sudo) and the Debian mirrors.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-browser: chromium and chromedriver are missing, and installing them needs root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null

command -v chromium >/dev/null && command -v chromedriver >/dev/null
echo "install-browser: $(chromium --version 2>/dev/null), $(chromedriver --version 2>/dev/null | head -n 1)"
