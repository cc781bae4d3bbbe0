# Sourced by the install-*.sh scripts: `apt_install WHO PACKAGE...` installs Debian packages as
# root (directly, or through sudo), or says why it cannot. WHO names the script in messages.
apt_install() {
    local who=$1
    shift
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            as_root=(sudo)
        else
            echo "$who: $* missing, and installing needs root" >&2
            return 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
