# devcloud_lib/readiness.sh: whether each component runs and answers;
# waiting for a start to be ready. Sourced by tools/devcloud.
# shellcheck shell=bash

# ------------------------------------------------------------------ probes
# In Keystone mode probes carry an admin token (PROBE_TOKEN, see
# keystone_login); without Keystone, no header.
http_code() {
    local token_header=()
    [[ -n "${PROBE_TOKEN:-}" ]] && token_header=(-H "X-Auth-Token: $PROBE_TOKEN")
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${token_header[@]}" "$1" 2>/dev/null || true
}

http_ok() { [[ "$(http_code "$1")" == 200 ]]; }

heat_answers() { http_ok "$HEAT_URL/stacks"; }

mistral_answers() { http_ok "$MISTRAL_URL/workflows"; }

# The package's async action, registered through the mistral.actions entry
# point of setup.cfg; missing means the package or its entry point is broken.
mistral_has_action() { http_ok "$MISTRAL_URL/actions/heat.run_node"; }

keystone_answers() { http_ok "$KEYSTONE_URL/v3"; }

# Keystone mode: an admin token for the probes, and HEAT_URL in the admin
# project (Heat's URLs name the project). Fails while Keystone is down.
keystone_login() {
    local answer
    answer=$("$PYTHON_ANY" "$LIB/keystone_token.py" "$KEYSTONE_URL/v3" admin \
        "$ADMIN_PASSWORD" admin 2>/dev/null) || return 1
    PROBE_TOKEN=${answer% *}
    export PROBE_TOKEN   # engine_check.py sends it too
    HEAT_URL="http://127.0.0.1:$HEAT_PORT/v1/${answer#* }"
}

# Every given engine has a live row in Heat's service table (see engine_check.py).
engines_answer() {
    local name args=()
    for name in "$@"; do
        args+=("${name#heat-}=$(pid_of "$name")")
    done
    "$PYTHON_ANY" "$LIB/engine_check.py" "$HEAT_URL" "${args[@]}" >/dev/null 2>&1
}

# A split Mistral's process $1 serves: the API answers with the package's
# action, any other server logged Mistral's "<kind> server started." (its
# RPC server consumes its topic, so that nothing cast to it is dropped by
# a broker with no queue for it yet).
mistral_server_started() {
    local message
    case "$1" in
        mistral | mistral-api) mistral_answers && mistral_has_action; return ;;
        mistral-engine-*) message="Engine server started." ;;
        mistral-executor-*) message="Executor server started." ;;
        mistral-notifier) message="Notification server started." ;;
        mistral-periodic) message="Periodic server started." ;;
        *) return 1 ;;
    esac
    grep -qF -- "$message" "$LOGS/$1.log" 2>/dev/null
}

# Wait (TIMEOUT) until Mistral process $1 serves; fails if it dies.
mistral_process_ready() {
    local end=$((SECONDS + TIMEOUT))
    until mistral_server_started "$1"; do
        if ! running "$1"; then
            show_log "$1" 40
            say "$1 exited during start-up"
            return 1
        fi
        ((SECONDS < end)) || { show_log "$1" 30; return 1; }
        sleep 0.5
    done
}

# Wait (TIMEOUT) until the given heat-engines are registered; fails if
# one dies.
engines_ready() {
    local end=$((SECONDS + TIMEOUT)) dead
    until engines_answer "$@"; do
        dead=$(first_dead "$@")
        if [[ -n "$dead" ]]; then
            show_log "$dead" 40
            say "$dead exited during start-up"
            return 1
        fi
        ((SECONDS < end)) || return 1
        sleep 1
    done
}

# The split Mistral processes that do not serve yet (none unsplit).
mistral_waiting() {
    local name
    ((MISTRAL_SPLIT)) || return 0
    for name in $(mistral_names); do
        mistral_server_started "$name" || printf ' %s' "$name"
    done
}

# --------------------------------------------------------------- readiness
# Keystone mode: wait until Keystone answers and gives the admin a token.
wait_keystone() {
    local end=$((SECONDS + TIMEOUT))
    until keystone_answers && keystone_login; do
        if ! running keystone; then
            show_log keystone 40
            say "keystone exited during start-up"
            return 1
        fi
        if ((SECONDS >= end)); then
            show_log keystone 30
            say "timed out after ${TIMEOUT}s waiting for keystone ($KEYSTONE_URL/v3)"
            return 1
        fi
        sleep 0.5
    done
}

# The first dead component, if any.
first_dead() {
    local name
    for name in "$@"; do running "$name" || { echo "$name"; return 0; }; done
    return 0
}

# Poll until everything answers; print what is still awaited.
wait_ready() {
    local end=$((SECONDS + TIMEOUT)) waiting last="" dead engines components
    mapfile -t engines < <(engine_names "$1")
    mapfile -t components < <(expected_components "$1")
    while :; do
        dead=$(first_dead "${components[@]}")
        if [[ -n "$dead" ]]; then
            show_log "$dead" 40
            say "$dead exited during start-up"
            return 1
        fi
        waiting=""
        ((MISTRAL)) && ! mistral_answers && waiting+=" mistral-api($MISTRAL_URL/workflows)"
        heat_answers || waiting+=" heat-api+engine($HEAT_URL/stacks)"
        if [[ -z "$waiting" ]]; then
            engines_answer "${engines[@]}" || waiting+=" engine-registration(${engines[*]})"
            if ((MISTRAL)); then
                mistral_has_action || waiting+=" mistral-action(heat.run_node)"
                waiting+=$(mistral_waiting)
            fi
        fi
        [[ -z "$waiting" ]] && return 0
        [[ "$waiting" != "$last" ]] && say "waiting for:$waiting"
        last=$waiting
        if ((SECONDS >= end)); then
            say "timed out after ${TIMEOUT}s waiting for:$waiting"
            explain_timeout "$waiting"
            return 1
        fi
        sleep 1
    done
}

explain_timeout() {
    case "$1" in
        *mistral-api*)
            show_log "$(mistral_log_name)" 30
            # A stuck API is usually waiting on a lock: show who holds one.
            say "---- MariaDB sessions ($DB_HOST) ----"
            sql "SELECT id, user, db, command, time, state, LEFT(info, 120)
                 FROM information_schema.processlist WHERE command <> 'Sleep'" >&2 || true
            ;;
        *mistral*) show_log "$(mistral_log_name)" 30 ;;
    esac
    case "$1" in *heat-api*) show_log heat-api 30 ;; esac
    case "$1" in *heat-api+engine* | *engine-registration*) show_log heat-engine-1 30 ;; esac
    case "$1" in
        *heat.run_node*)
            say "Mistral does not list the action heat.run_node: is the mistral.actions entry point in setup.cfg importable? (python -c 'import heat_mistral_engine.mistral.actions')" ;;
    esac
}

all_healthy() {
    local n=$1 components=()
    [[ -n "$(recorded_components)" ]] || return 1
    [[ "$(recorded_engine_count)" == "$n" ]] || return 1
    [[ "$(recorded_mode)" == "$(wanted_mode)" ]] || return 1
    mapfile -t components < <(expected_components "$n")
    [[ -z "$(first_dead "${components[@]}")" ]] || return 1
    if ((KEYSTONE)); then keystone_login || return 1; fi
    [[ -z "$PRIVATE_RABBIT_PORT" ]] || rabbit_running || return 1
    [[ -z "$PRIVATE_DB_PORT" ]] || private_db_running || return 1
    ((MISTRAL)) || { heat_answers; return; }
    mistral_answers && heat_answers && mistral_has_action
}

# With a split Mistral, explain_timeout names the processes.
mistral_log_name() {
    if ((MISTRAL_SPLIT)); then echo mistral-api; else echo mistral; fi
}

# The mode of the running cloud ($PIDS/mode, written at start), and the
# mode asked for: keystone or noauth, and "noauth postgresql" on
# PostgreSQL, so that a start asking for the other database restarts.
recorded_mode() { cat "$PIDS/mode" 2>/dev/null || echo noauth; }

wanted_mode() {
    local mode=noauth
    if ((KEYSTONE)); then mode=keystone
    elif [[ "$DB_BACKEND" == postgresql ]]; then mode="noauth postgresql"
    fi
    ((MISTRAL_SPLIT)) && mode+=" mistral-split"
    ((MISTRAL)) || mode+=" no-mistral"
    [[ -n "$PRIVATE_DB_PORT" ]] && mode+=" private-db"
    echo "$mode"
}
