# devcloud_lib/databases.sh: the schemas of Heat's, Mistral's and
# Keystone's databases, and Keystone's bootstrap and accounts.
# Sourced by tools/devcloud.
# shellcheck shell=bash

sync_schemas() {
    if ! ((MISTRAL)); then
        say "syncing database schema ($HEAT_DB; no Mistral)"
        run_logged db-sync "$VENV/bin/heat-manage" --config-file "$ETC/heat.conf" db_sync
        return 0
    fi
    say "syncing database schemas ($HEAT_DB, $MISTRAL_DB)"
    run_logged db-sync "$VENV/bin/heat-manage" --config-file "$ETC/heat.conf" db_sync
    run_logged db-sync "$VENV/bin/mistral-db-manage" --config-file "$ETC/mistral.conf" upgrade head
    # populate loads Mistral's standard actions and workflows; idempotent.
    run_logged db-sync "$VENV/bin/mistral-db-manage" --config-file "$ETC/mistral.conf" populate
    if ((KEYSTONE)) && ! keystone_provisioned; then
        rm -f "$KEYSTONE_STAMP"
        sync_keystone
    fi
    return 0
}

# Keystone mode: db_sync, bootstrap and keystone_setup.py take a minute of
# a busy machine, so they run only when their inputs changed (the stamp)
# or the database lost what they made.
KEYSTONE_STAMP="$DC/keystone/provisioned"
keystone_inputs() {
    printf '%s\n' "$KEYSTONE_PIN" "$KEYSTONE_DB" "$KEYSTONE_URL" "$HEAT_CATALOG_URL" \
        "$MISTRAL_URL" "$ADMIN_PASSWORD" "$ACCOUNT_PASSWORD_PREFIX"
    # What it makes: a new account or domain there reprovisions.
    sha256sum "$LIB/keystone_setup.py" | cut -d' ' -f1
}

keystone_provisioned() {
    [[ -f "$DC/accounts.json" && "$(cat "$KEYSTONE_STAMP" 2>/dev/null)" == "$(keystone_inputs)" ]] \
        && [[ "$(sql "SELECT COUNT(*) FROM \`$KEYSTONE_DB\`.project
                      WHERE name IN ('service', 'demo-a', 'demo-b')" 2>/dev/null)" == 3 ]]
}

# Keystone's schema, its keys (made once, kept in $DC/keystone) and the
# admin account, roles, region and identity endpoints (bootstrap is
# idempotent).
sync_keystone() {
    local manage=("$VENV/bin/keystone-manage" --config-file "$ETC/keystone.conf") kind
    say "syncing database schema ($KEYSTONE_DB) and bootstrapping Keystone"
    run_logged db-sync "${manage[@]}" db_sync
    for kind in fernet credential; do
        [[ -d "$DC/keystone/$kind-keys" ]] && continue
        mkdir -p "$DC/keystone"
        run_logged db-sync "${manage[@]}" "${kind}_setup" \
            --keystone-user "$(id -u)" --keystone-group "$(id -g)"
    done
    run_logged db-sync "${manage[@]}" bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
        --bootstrap-region-id RegionOne \
        --bootstrap-admin-url "$KEYSTONE_URL/v3" \
        --bootstrap-public-url "$KEYSTONE_URL/v3" \
        --bootstrap-internal-url "$KEYSTONE_URL/v3"
}

# Keystone mode, once Keystone answers: the service and demo accounts and
# the catalog (keystone_setup.py) unless an earlier start made them, then
# the openrc files.
provision_keystone() {
    if [[ ! -f "$KEYSTONE_STAMP" ]]; then
        run_logged keystone-setup "$VENV/bin/python" "$LIB/keystone_setup.py" \
            --auth-url "$KEYSTONE_URL/v3" --admin-password "$ADMIN_PASSWORD" \
            --heat-url "$HEAT_CATALOG_URL" --mistral-url "$MISTRAL_URL" \
            --password-prefix "$ACCOUNT_PASSWORD_PREFIX" --accounts-file "$DC/accounts.json"
        keystone_inputs >"$KEYSTONE_STAMP"
    fi
    write_keystone_openrcs
}
