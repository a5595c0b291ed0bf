# devcloud_lib/processes.sh: the components of the cloud, their pid files
# and logs; start and stop.
# Sourced by tools/devcloud.
# shellcheck shell=bash

# -------------------------------------------------------------- components
# Component names double as pid file and log file names.
engine_names() {
    local n=$1 i
    for ((i = 1; i <= n; i++)); do echo "heat-engine-$i"; done
}

# Mistral's processes: one mistral-server (api,engine,periodic, local
# executor), or with MISTRAL_SPLIT each server its own process.
mistral_names() {
    local i
    ((MISTRAL)) || return 0
    if ! ((MISTRAL_SPLIT)); then
        echo mistral
        return 0
    fi
    echo mistral-api
    for ((i = 1; i <= MISTRAL_ENGINES; i++)); do echo "mistral-engine-$i"; done
    for ((i = 1; i <= MISTRAL_EXECUTORS; i++)); do echo "mistral-executor-$i"; done
    echo mistral-notifier
    echo mistral-periodic
}

# The --server value of Mistral component $1.
mistral_server_of() {
    case "$1" in
        mistral) echo api,engine,periodic ;;
        mistral-api) echo api ;;
        mistral-engine-*) echo engine ;;
        mistral-executor-*) echo executor ;;
        mistral-notifier) echo notifier ;;
        mistral-periodic) echo periodic ;;
        *) return 1 ;;
    esac
}

# Components recorded in pids/, in stop order (API first, Mistral, then
# Keystone, which the others call until they stop, then the private
# broker and database).
recorded_components() {
    local f
    if [[ -f "$PIDS/heat-api.pid" ]]; then echo heat-api; fi
    for f in "$PIDS"/heat-engine-*.pid; do
        if [[ -e "$f" ]]; then basename "$f" .pid; fi
    done | sort -V
    for f in "$PIDS"/mistral.pid "$PIDS"/mistral-*.pid; do
        if [[ -e "$f" ]]; then basename "$f" .pid; fi
    done | sort -V
    if [[ -f "$PIDS/keystone.pid" ]]; then echo keystone; fi
    if [[ -f "$PIDS/rabbitmq.pid" ]]; then echo rabbitmq; fi
    if [[ -f "$PIDS/mariadb.pid" ]]; then echo mariadb; fi
}

# The components a cloud of the current mode runs, in start order.
expected_components() {
    ((KEYSTONE)) && echo keystone
    mistral_names
    engine_names "$1"
    echo heat-api
}

recorded_engine_count() {
    local f n=0
    for f in "$PIDS"/heat-engine-*.pid; do [[ -e "$f" ]] && n=$((n + 1)); done
    echo "$n"
}

pid_of() { cat "$PIDS/$1.pid" 2>/dev/null || true; }

# A pid is ours if it lives and its command line names our etc/ directory
# (every devcloud process gets --config-file $ETC/...). This guards against
# pid reuse after a reboot.
is_ours() {
    local pid=$1
    [[ -n "$pid" && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$ETC/"
}

# The private RabbitMQ's group leader is a shell script: its Erlang VM
# carries "-home $ETC/rabbitmq" on its command line.
running() {
    local pid
    pid=$(pid_of "$1")
    is_ours "$pid" || { [[ "$1" == rabbitmq && -n "$pid" ]] && group_ours "$pid"; }
}

# Any process left in process group $1 (workers outlive a dead leader).
group_alive() { pgrep -g "$1" >/dev/null 2>&1; }

# Some process of group $1 is ours: covers workers whose leader died.
group_ours() {
    local p
    for p in $(pgrep -g "$1" 2>/dev/null); do is_ours "$p" && return 0; done
    return 1
}

# ------------------------------------------------------------------- start
# Keep the logs of the last LOG_GENERATIONS starts of a component
# (<name>.log.1 is the one before), so that a failure followed by more
# restarts (the fault tests restart the cloud many times) can still be read.
LOG_GENERATIONS=5
rotate_log() {
    local name=$1 i
    [[ -f "$LOGS/$name.log" ]] || return 0
    for ((i = LOG_GENERATIONS - 1; i >= 1; i--)); do
        if [[ -f "$LOGS/$name.log.$i" ]]; then
            mv -f "$LOGS/$name.log.$i" "$LOGS/$name.log.$((i + 1))"
        fi
    done
    mv -f "$LOGS/$name.log" "$LOGS/$name.log.1"
}

# Start one component in its own session (so that stop can kill the whole
# process group, forked workers included), output to logs/<name>.log.
spawn() {
    local name=$1 pid
    shift
    rotate_log "$name"
    # Not a group leader (no job control in scripts), so setsid(1) calls
    # setsid() without forking: $! is the session and group leader.
    # 9>&-: the service must not inherit the start/stop lock (fd 9), or
    # the lock would be held for as long as the service runs.
    setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
    pid=$!
    disown "$pid"   # no "Killed" job notice from bash when stop kills it
    echo "$pid" >"$PIDS/$name.pid"
    say "started $name (pid $pid)"
}

# Start heat-engine $1 (heat-engine-N).
spawn_engine() {
    local name=$1 conf
    conf=(--config-file "$ETC/heat.conf" --config-file "$ETC/$name.conf"
          --config-dir "$ETC/heat.conf.d")
    # Settings of one engine only (e.g. a rolling enable of the
    # plugin): etc/heat-engine-N.conf.d/*.conf, read last.
    [[ -d "$ETC/$name.conf.d" ]] && conf+=(--config-dir "$ETC/$name.conf.d")
    spawn "$name" "$VENV/bin/heat-engine" "${conf[@]}"
}

start_processes() {
    local n=$1 name
    # Keystone first: Heat and Mistral need it for every request, though
    # not to boot, so they start while it does.
    if ((KEYSTONE)); then
        spawn keystone "$VENV/bin/python" "$LIB/keystone_wsgi.py" \
            --host 127.0.0.1 --port "$KEYSTONE_PORT" --config-file "$ETC/keystone.conf"
        # Mistral's [heat_mistral_engine] service_project_id needs project
        # service: on a first start Keystone makes it before Mistral starts.
        if [[ -z "$(service_project_id)" ]]; then
            wait_keystone || return 1
            provision_keystone
            write_mistral_conf >"$ETC/mistral.conf"
            [[ -n "$(service_project_id)" ]] || die "Keystone has no project service after keystone_setup.py"
        fi
    fi
    for name in $(mistral_names); do spawn_mistral "$name"; done
    for name in $(engine_names "$n"); do spawn_engine "$name"; done
    spawn heat-api "$VENV/bin/python" "$LIB/heat_api_wsgi.py" \
        --host 127.0.0.1 --port "$HEAT_PORT" -- \
        --config-file "$ETC/heat.conf" --config-dir "$ETC/heat.conf.d"
    if ((KEYSTONE)); then
        wait_keystone || return 1
        provision_keystone
    fi
}

# Start Mistral component $1 (see mistral_names). Not 'all': the event
# engine busy-loops on an empty queue (one core at 100 %), and nothing
# here uses event triggers. A split process reads etc/<name>.conf last:
# its own [engine]/[executor]/[notifier] host, so that each has RPC
# server names of its own.
spawn_mistral() {
    local name=$1 server conf=()
    server=$(mistral_server_of "$name") || die "not a Mistral component: $name"
    conf=(--config-file "$ETC/mistral.conf")
    [[ -f "$ETC/$name.conf" ]] && conf+=(--config-file "$ETC/$name.conf")
    spawn "$name" "$VENV/bin/mistral-server" --server "$server" \
        "${conf[@]}" --config-dir "$ETC/mistral.conf.d"
}

# -------------------------------------------------------------------- stop
# TERM one recorded component's process group, KILL it after STOP_GRACE
# seconds; drop its pid file.
stop_component() {
    local name=$1 pid i
    pid=$(pid_of "$name")
    if [[ -n "$pid" ]] && group_ours "$pid"; then
        kill -TERM -- "-$pid" 2>/dev/null || true
        for ((i = 0; i < STOP_GRACE * 5; i++)); do
            group_alive "$pid" || break
            sleep 0.2
        done
        if group_alive "$pid"; then
            say "$name (pid $pid) still running after ${STOP_GRACE}s; killing"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        say "stopped $name (pid $pid)"
    fi
    rm -f "$PIDS/$name.pid"
}

# TERM every recorded process group at once (each component is its own
# group, forked workers included), KILL what is left after STOP_GRACE
# seconds, drop the pid files. Components stop in parallel because
# heat-engine and mistral-server each take ~10 s to close their AMQP
# connections.
# (STOP_GRACE, DEVCLOUD_STOP_GRACE, is set in settings.sh.)
stop_all() {
    local name pid groups=() names=() i left keep_rabbit=${1:-}
    for name in $(recorded_components); do
        [[ "$name" == rabbitmq || "$name" == mariadb ]] && continue
        pid=$(pid_of "$name")
        if [[ -n "$pid" ]] && group_ours "$pid"; then
            kill -TERM -- "-$pid" 2>/dev/null || true
            groups+=("$pid")
            names+=("$name")
        fi
    done
    for ((i = 0; i < STOP_GRACE * 5; i++)); do
        left=0
        for pid in "${groups[@]}"; do group_alive "$pid" && left=1; done
        ((left)) || break
        sleep 0.2
    done
    for i in "${!groups[@]}"; do
        pid=${groups[$i]}
        if group_alive "$pid"; then
            say "${names[$i]} (pid $pid) still running after ${STOP_GRACE}s; killing"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        say "stopped ${names[$i]} (pid $pid)"
    done
    for name in $(recorded_components); do
        [[ "$name" == rabbitmq || "$name" == mariadb ]] || rm -f "$PIDS/$name.pid"
    done
    rm -f "$PIDS/mode"
    # The private broker and database last, once nothing uses them; kept
    # by a start, which reuses running ones (a broker takes 20-50 s to
    # start).
    if [[ "$keep_rabbit" != keep-rabbit ]]; then
        stop_component rabbitmq
        stop_component mariadb
    fi
}
