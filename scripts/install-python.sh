#!/usr/bin/env bash
# Installs what the `mp` templates' tests run: Python 3 (3.8 or later, the standard library
# only). Does nothing when it is there; CI runs it before the tests, and a developer runs it
# once. Needs root (or sudo) and the Debian mirrors when Python is missing.
set -euo pipefail

if command -v python3 >/dev/null 2>&1 \
    && python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)'; then
    exit 0
fi

# shellcheck source=scripts/apt-install.sh
source "$(dirname "$0")/apt-install.sh"
apt_install install-python python3

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)'
echo "install-python: $(python3 --version)"
