#!/usr/bin/env bash
# Installs the Postgres server binaries the tests start throwaway clusters with (Debian's
# `postgresql` package; `initdb` and `postgres` under /usr/lib/postgresql/<version>/bin). Does
# nothing when they are already there; the tests run it when they find none, and CI runs it
# before the tests. Needs root (or sudo) and the Debian mirrors. No cluster of the package's
# own is made or started: the tests make theirs.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi

# The package would make and start a cluster of its own (`main`); the tests need none.
if [ -w /etc ] || [ "$(id -u)" -eq 0 ]; then
    mkdir -p /etc/postgresql-common
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
    fi
fi

# shellcheck source=scripts/apt-install.sh
source "$(dirname "$0")/apt-install.sh"
apt_install install-postgres postgresql

compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
echo "install-postgres: $(ls /usr/lib/postgresql/*/bin/postgres | tail -n 1)"
