# devcloud_lib/install.sh: the venv (Heat, Mistral, the clients, this
# package, Keystone in Keystone mode, the PostgreSQL driver on PostgreSQL)
# and the machine's packages.
# Sourced by tools/devcloud.
# shellcheck shell=bash

install_hash() {
    {
        cat "$REPO/requirements.txt" "$REPO/setup.cfg" "$REPO/pyproject.toml"
        printf '%s\n' "${PINNED[@]}" "$CONSTRAINTS"
        if [[ -f "$CONSTRAINTS" ]]; then cat "$CONSTRAINTS"; fi
        "$PYTHON" --version 2>&1
    } | sha256sum | cut -d' ' -f1
}

# The venv holds Heat, Mistral, the clients and this package (editable, so
# code edits need no reinstall), within the upper-constraints (see
# CONSTRAINTS in settings.sh). The install is skipped when the stamp
# records the same inputs; setup.cfg is an input because entry points live
# there and only a reinstall refreshes them.
ensure_venv() {
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set DEVCLOUD_PYTHON)"
    local want stamp="$VENV/.devcloud-install"
    want=$(install_hash)
    if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c '' 2>/dev/null \
        && [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
        return 0
    fi
    if ! [[ -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
        say "creating venv $VENV"
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    say "installing Heat, Mistral, clients and -e $REPO (log: $LOGS/pip-install.log)"
    rm -f "$stamp"
    # pip warns about /opt/pypi-more on this machine; harmless, kept in the log.
    if ! "$VENV/bin/pip" install --disable-pip-version-check -c "$CONSTRAINTS" \
        -e "$REPO" "${PINNED[@]}" >"$LOGS/pip-install.log" 2>&1; then
        show_log pip-install 40
        die "pip install failed"
    fi
    echo "$want" >"$stamp"
}

# Keystone mode: add Keystone to the venv without moving anything Heat,
# Mistral or the clients run with. Every installed distribution is a
# constraint (pip freeze), so pip either adds only what Keystone needs on
# top or fails naming the conflict; it never up- or downgrades. What it
# adds keeps within the upper-constraints too. Redone when the venv's own
# install changed (the stamp holds its hash).
ensure_keystone_installed() {
    add_held_package "$KEYSTONE_PIN" keystone
}

# add_held_package PIN NAME: pip-installs PIN into the venv with every
# installed version held and within the constraints (logs and stamp named
# after NAME); redone when the venv's own install changed.
add_held_package() {
    local pin=$1 name=$2 want
    local stamp="$VENV/.devcloud-$name" held="$LOGS/$name-constraints.txt"
    want="$pin $(cat "$VENV/.devcloud-install")"
    [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]] && return 0
    say "installing $pin, every installed version held (log: $LOGS/pip-$name.log)"
    rm -f "$stamp"
    "$VENV/bin/pip" freeze --disable-pip-version-check --exclude-editable >"$held"
    if ! "$VENV/bin/pip" install --disable-pip-version-check -c "$held" -c "$CONSTRAINTS" \
        "$pin" >"$LOGS/pip-$name.log" 2>&1; then
        show_log "pip-$name" 40
        die "pip cannot add $pin within the installed versions and $CONSTRAINTS (see $LOGS/pip-$name.log)"
    fi
    echo "$want" >"$stamp"
}

# DEVCLOUD_DB_BACKEND=postgresql: add the PostgreSQL driver to the venv the
# way Keystone is added (every installed version held, within the
# constraints); redone when the venv's own install changed.
ensure_db_driver() {
    [[ "$DB_BACKEND" == postgresql ]] || return 0
    add_held_package "$PG_DRIVER" pg-driver
}

# Install Debian packages for missing commands (root only, as on the
# project's machines); elsewhere say what to install.
ensure_packages() {
    local cmd pkg missing=()
    while (($#)); do
        cmd=$1 pkg=$2
        shift 2
        command -v "$cmd" >/dev/null || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
        die "missing packages: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})"
    fi
    say "installing ${missing[*]} (log: $LOGS/apt.log)"
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"; } \
        >>"$LOGS/apt.log" 2>&1 || { show_log apt 20; die "apt-get install ${missing[*]} failed"; }
}
