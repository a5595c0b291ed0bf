# devcloud_lib/common.sh: messages, logged commands, TCP ports.
# Sourced by tools/devcloud.
# shellcheck shell=bash

# ------------------------------------------------------------------ output
say() { printf 'devcloud: %s\n' "$*" >&2; }

die() { say "ERROR: $*"; exit 1; }

# Print the last lines of a log, indented, to explain a failure.
show_log() {
    local f="$LOGS/$1.log"
    [[ -f "$f" ]] || return 0
    say "---- last lines of $f ----"
    tail -n "${2:-30}" "$f" | sed 's/^/    /' >&2
}

# Run a command, appending its output to logs/$1.log; on failure show it.
run_logged() {
    local log=$1
    shift
    echo "\$ $*" >>"$LOGS/$log.log"
    if ! "$@" >>"$LOGS/$log.log" 2>&1; then
        show_log "$log" 40
        die "failed: $*"
    fi
}

# ------------------------------------------------------------------- ports
tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Wait up to $3 seconds for host $1 port $2.
wait_tcp() {
    local end=$((SECONDS + $3))
    until tcp_open "$1" "$2"; do
        ((SECONDS < end)) || return 1
        sleep 1
    done
}

# Listening pid on a local TCP port, empty if free or unknown.
port_pid() {
    ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true
}

port_busy() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }

# Fail early, naming the culprit, when a port we need is taken by a process
# devcloud did not start.
check_port_free() {
    local port=$1 what=$2 pid
    port_busy "$port" || return 0
    pid=$(port_pid "$port")
    die "port $port ($what) is already in use${pid:+ by pid $pid ($(ps -o args= -p "$pid" 2>/dev/null | cut -c1-80))}; stop it or set DEVCLOUD_${what^^}_PORT"
}
