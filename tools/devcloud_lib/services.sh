# devcloud_lib/services.sh: MariaDB or PostgreSQL and RabbitMQ, the
# machine's (started when down, never stopped) or a private RabbitMQ node
# of this cloud.
# Sourced by tools/devcloud.
# shellcheck shell=bash

# ----------------------------------------------------------------- MariaDB
sql() {
    MYSQL_PWD="$DB_PASSWORD" mysql -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" -N -e "$1"
}

db_url() {
    local auth=$DB_USER
    if [[ "$DB_BACKEND" == postgresql ]]; then
        auth=$PG_USER
        [[ -n "$PG_PASSWORD" ]] && auth="$PG_USER:$PG_PASSWORD"
        echo "postgresql+psycopg2://$auth@$PG_HOST/$1"
        return 0
    fi
    [[ -n "$DB_PASSWORD" ]] && auth="$DB_USER:$DB_PASSWORD"
    if [[ -n "$PRIVATE_DB_PORT" ]]; then
        echo "mysql+pymysql://$auth@$DB_HOST:$DB_PORT/$1?charset=utf8"
    else
        echo "mysql+pymysql://$auth@$DB_HOST/$1?charset=utf8"
    fi
}

# The databases' server: MariaDB, or PostgreSQL (DEVCLOUD_DB_BACKEND).
ensure_database_server() {
    if [[ "$DB_BACKEND" == postgresql ]]; then
        ensure_postgresql
    else
        ensure_mariadb
    fi
}

# MariaDB and RabbitMQ belong to the machine: devcloud installs and starts
# them when they are missing or down, but never stops them.
ensure_mariadb() {
    if [[ -n "$PRIVATE_DB_PORT" ]]; then
        start_private_db
    elif ! tcp_open "$DB_HOST" 3306; then
        [[ "$DB_HOST" == 127.0.0.1 || "$DB_HOST" == localhost ]] \
            || die "MariaDB does not answer on $DB_HOST:3306"
        ensure_packages mariadbd mariadb-server
        say "MariaDB does not answer on $DB_HOST:3306; starting it"
        service mariadb start >>"$LOGS/services.log" 2>&1 || true
        wait_tcp "$DB_HOST" 3306 60 || die "MariaDB is not answering on $DB_HOST:3306"
    fi
    ensure_packages mysql mariadb-client
    sql "CREATE DATABASE IF NOT EXISTS \`$HEAT_DB\` CHARACTER SET utf8;
         CREATE DATABASE IF NOT EXISTS \`$MISTRAL_DB\` CHARACTER SET utf8;" \
        || die "cannot create databases $HEAT_DB/$MISTRAL_DB as $DB_USER@$DB_HOST"
    if ((KEYSTONE)); then
        sql "CREATE DATABASE IF NOT EXISTS \`$KEYSTONE_DB\` CHARACTER SET utf8;" \
            || die "cannot create database $KEYSTONE_DB as $DB_USER@$DB_HOST"
    fi
}

# -------------------------------------------------------------- PostgreSQL
pg_sql() {
    PGPASSWORD="$PG_PASSWORD" psql -h "$PG_HOST" -U "$PG_USER" -d postgres \
        -v ON_ERROR_STOP=1 -qAt -c "$1"
}

# As for MariaDB: the machine's PostgreSQL, started when it is down (on
# this host), never stopped. Databases in UTF8 whatever the server's
# default, so that every name Heat accepts fits; created once, kept.
ensure_postgresql() {
    local db
    ensure_packages psql postgresql-client
    if ! tcp_open "$PG_HOST" 5432; then
        [[ "$PG_HOST" == 127.0.0.1 || "$PG_HOST" == localhost ]] \
            || die "PostgreSQL does not answer on $PG_HOST:5432"
        ensure_packages pg_ctlcluster postgresql
        say "PostgreSQL does not answer on $PG_HOST:5432; starting it"
        service postgresql start >>"$LOGS/services.log" 2>&1 || true
        wait_tcp "$PG_HOST" 5432 60 || die "PostgreSQL is not answering on $PG_HOST:5432"
    fi
    for db in "$HEAT_DB" "$MISTRAL_DB"; do
        [[ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = '$db'")" == 1 ]] && continue
        pg_sql "CREATE DATABASE \"$db\" ENCODING 'UTF8' TEMPLATE template0" \
            >>"$LOGS/services.log" 2>&1 \
            || die "cannot create database $db as $PG_USER@$PG_HOST (see $LOGS/services.log)"
    done
}

# ---------------------------------------------------------------- RabbitMQ
ensure_rabbitmq() {
    if [[ -n "$PRIVATE_RABBIT_PORT" ]]; then
        start_private_rabbit
        return 0
    fi
    tcp_open 127.0.0.1 5672 && return 0
    [[ "$RABBIT_URL" == *@127.0.0.1:5672/ ]] \
        || die "RabbitMQ does not answer at $RABBIT_URL"
    ensure_packages rabbitmq-server rabbitmq-server
    say "RabbitMQ does not answer on 127.0.0.1:5672; starting it"
    service rabbitmq-server start >>"$LOGS/services.log" 2>&1 || true
    wait_tcp 127.0.0.1 5672 90 || die "RabbitMQ is not answering on 127.0.0.1:5672"
}

# A cloud of its own vhost: create it (idempotent) and point the URL at it.
ensure_rabbit_vhost() {
    [[ -n "$RABBIT_VHOST" ]] || return 0
    [[ "$RABBIT_URL" == *@127.0.0.1:5672/ ]] \
        || die "DEVCLOUD_RABBIT_VHOST needs the local RabbitMQ (DEVCLOUD_RABBIT_URL unset)"
    command -v rabbitmqctl >/dev/null || die "DEVCLOUD_RABBIT_VHOST needs rabbitmqctl"
    {
        rabbitmqctl -q list_vhosts | grep -qx "$RABBIT_VHOST" \
            || rabbitmqctl -q add_vhost "$RABBIT_VHOST"
        rabbitmqctl -q set_permissions -p "$RABBIT_VHOST" guest '.*' '.*' '.*'
    } >>"$LOGS/services.log" 2>&1 || die "cannot create RabbitMQ vhost $RABBIT_VHOST (see $LOGS/services.log)"
    RABBIT_URL="${RABBIT_URL}${RABBIT_VHOST}"
}

# ------------------------------------------------ the private RabbitMQ
# A RabbitMQ node of this cloud alone (DEVCLOUD_PRIVATE_RABBIT_PORT), so
# that fault tests can stop and start a broker no other cloud uses. Its
# own node name, ports, epmd, Erlang cookie (HOME) and state directory;
# rabbitmq-server runs as the calling user. Its HOME is under $ETC/, so
# is_ours recognises its processes as for every other component.
# RABBIT_HOME, RABBIT_STATE and RABBIT_SERVER are set in settings.sh.

rabbit_server_bin() {
    local f
    [[ -n "$RABBIT_SERVER" ]] && { echo "$RABBIT_SERVER"; return 0; }
    # The Debian package's /usr/sbin wrapper switches to the rabbitmq user
    # and its /var/lib state: the script behind it runs as we are.
    for f in /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server; do
        [[ -x "$f" ]] && { echo "$f"; return 0; }
    done
    command -v rabbitmq-server || true
}

write_rabbit_conf() {
    mkdir -p "$RABBIT_HOME" "$RABBIT_STATE/mnesia" "$RABBIT_STATE/log"
    printf 'listeners.tcp.1 = 127.0.0.1:%d\nloopback_users.guest = true\n' \
        "$PRIVATE_RABBIT_PORT" >"$RABBIT_HOME/rabbitmq.conf"
    echo '[].' >"$RABBIT_HOME/enabled_plugins"
    if [[ ! -s "$RABBIT_HOME/.erlang.cookie" ]]; then
        (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' \
            >"$RABBIT_HOME/.erlang.cookie")
    fi
    chmod 400 "$RABBIT_HOME/.erlang.cookie"
}

rabbit_running() { running rabbitmq && tcp_open 127.0.0.1 "$PRIVATE_RABBIT_PORT"; }

# Start the private node (no-op if it answers) and wait for its AMQP port.
start_private_rabbit() {
    local bin epmd_port=$((PRIVATE_RABBIT_PORT + 2))
    rabbit_running && return 0
    stop_component rabbitmq
    port_busy "$PRIVATE_RABBIT_PORT" && check_port_free "$PRIVATE_RABBIT_PORT" private_rabbit
    bin=$(rabbit_server_bin)
    [[ -n "$bin" ]] || die "DEVCLOUD_PRIVATE_RABBIT_PORT needs rabbitmq-server (apt-get install rabbitmq-server)"
    command -v epmd >/dev/null || die "DEVCLOUD_PRIVATE_RABBIT_PORT needs epmd (Erlang)"
    write_rabbit_conf
    # epmd in the foreground in the node's own process group: stopping the
    # group stops it too (a daemonised epmd would outlive the cloud). The
    # single quotes are deliberate: the inner bash expands ERL_EPMD_PORT.
    # shellcheck disable=SC2016
    spawn rabbitmq env HOME="$RABBIT_HOME" ERL_EPMD_PORT=$epmd_port ERL_EPMD_ADDRESS=127.0.0.1 \
        RABBITMQ_NODENAME="devcloud-$DB_PREFIX@localhost" \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT="$PRIVATE_RABBIT_PORT" \
        RABBITMQ_DIST_PORT=$((PRIVATE_RABBIT_PORT + 1)) \
        RABBITMQ_CONFIG_FILE="$RABBIT_HOME/rabbitmq" \
        RABBITMQ_ADVANCED_CONFIG_FILE="$RABBIT_HOME/advanced.config" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$RABBIT_HOME/enabled_plugins" \
        RABBITMQ_MNESIA_BASE="$RABBIT_STATE/mnesia" \
        RABBITMQ_LOG_BASE="$RABBIT_STATE/log" \
        RABBITMQ_PID_FILE="$RABBIT_STATE/rabbitmq.pid" \
        bash -c 'epmd -port "$ERL_EPMD_PORT" & exec "$0"' "$bin"
    wait_tcp 127.0.0.1 "$PRIVATE_RABBIT_PORT" 120 \
        || { show_log rabbitmq 30; die "private RabbitMQ does not answer on 127.0.0.1:$PRIVATE_RABBIT_PORT"; }
}

# ------------------------------------------------ the private MariaDB
# A MariaDB server of this cloud alone (DEVCLOUD_PRIVATE_DB_PORT), so that
# fault tests can stop and start the database no other cloud uses: its
# own data directory ($DC/mariadb, made once by mariadb-install-db), port,
# socket and pid file, root without a password on 127.0.0.1 only. Its
# option file is under $ETC/, so is_ours recognises the server as for
# every other component. MARIADB_HOME and MARIADB_STATE are set in
# settings.sh.

write_mariadb_conf() {
    mkdir -p "$MARIADB_HOME" "$MARIADB_STATE"
    cat >"$MARIADB_HOME/my.cnf" <<EOF
# Generated by tools/devcloud (DEVCLOUD_PRIVATE_DB_PORT).
[mysqld]
user = $(id -un)
datadir = $MARIADB_STATE/data
port = $PRIVATE_DB_PORT
bind-address = 127.0.0.1
socket = $MARIADB_STATE/mariadbd.sock
pid-file = $MARIADB_STATE/mariadbd.pid
log-error = $MARIADB_STATE/error.log
skip-name-resolve
skip-log-bin
character-set-server = utf8mb3
collation-server = utf8mb3_general_ci
innodb_buffer_pool_size = 128M
max_connections = 1000
EOF
}

private_db_running() { running mariadb && tcp_open 127.0.0.1 "$PRIVATE_DB_PORT"; }

# Start the private server (no-op if it answers) and wait until root can
# log in; the first start makes the data directory.
start_private_db() {
    local end
    private_db_running && return 0
    stop_component mariadb
    port_busy "$PRIVATE_DB_PORT" && check_port_free "$PRIVATE_DB_PORT" private_db
    if ! command -v mariadbd >/dev/null || ! command -v mariadb-install-db >/dev/null; then
        die "DEVCLOUD_PRIVATE_DB_PORT needs mariadbd and mariadb-install-db (apt-get install mariadb-server)"
    fi
    write_mariadb_conf
    if [[ ! -d "$MARIADB_STATE/data/mysql" ]]; then
        say "making the private MariaDB's data directory $MARIADB_STATE/data"
        run_logged services mariadb-install-db --defaults-file="$MARIADB_HOME/my.cnf" \
            --auth-root-authentication-method=normal --skip-test-db
    fi
    spawn mariadb mariadbd --defaults-file="$MARIADB_HOME/my.cnf"
    end=$((SECONDS + 120))
    until sql "SELECT 1" >/dev/null 2>&1; do
        if ! running mariadb || ((SECONDS >= end)); then
            tail -n 30 "$MARIADB_STATE/error.log" 2>/dev/null | sed 's/^/    /' >&2
            die "private MariaDB does not answer on 127.0.0.1:$PRIVATE_DB_PORT"
        fi
        sleep 0.5
    done
}
