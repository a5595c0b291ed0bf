# devcloud_lib/settings.sh: the paths, ports, databases, broker and
# versions of this cloud, from the DEVCLOUD_* environment knobs (see
# tools/devcloud's header). Sourced first by tools/devcloud, after REPO and
# LIB are set; checks the knobs and exits on a bad one.
# shellcheck shell=bash
# shellcheck disable=SC2034  # the other parts read these

DC=${DEVCLOUD_DIR:-$REPO/.devcloud}
mkdir -p "$DC"
DC=$(cd "$DC" && pwd -P)   # absolute: it goes into config files and cmdlines
VENV="$DC/venv"
ETC="$DC/etc"
LOGS="$DC/logs"
PIDS="$DC/pids"

HEAT_PORT=${DEVCLOUD_HEAT_PORT:-8004}
MISTRAL_PORT=${DEVCLOUD_MISTRAL_PORT:-8989}
HEAT_URL="http://127.0.0.1:$HEAT_PORT/v1/admin"   # 'admin' = the noauth project
MISTRAL_URL="http://127.0.0.1:$MISTRAL_PORT/v2"
KEYSTONE_PORT=${DEVCLOUD_KEYSTONE_PORT:-5000}
KEYSTONE_URL="http://127.0.0.1:$KEYSTONE_PORT"
# The catalog's orchestration endpoint: Keystone substitutes the project.
HEAT_CATALOG_URL="http://127.0.0.1:$HEAT_PORT/v1/%(project_id)s"

DB_PREFIX=${DEVCLOUD_DB_PREFIX:-hme}
DB_HOST=${DEVCLOUD_DB_HOST:-127.0.0.1}
DB_USER=${DEVCLOUD_DB_USER:-root}
DB_PASSWORD=${DEVCLOUD_DB_PASSWORD:-}
# Where Heat's and Mistral's databases live: the machine's MariaDB, or its
# PostgreSQL (DEVCLOUD_DB_BACKEND=postgresql; host, user and password from
# DEVCLOUD_PG_HOST [127.0.0.1], DEVCLOUD_PG_USER [root],
# DEVCLOUD_PG_PASSWORD []).
DB_BACKEND=${DEVCLOUD_DB_BACKEND:-mariadb}
case "$DB_BACKEND" in
    mariadb | postgresql) ;;
    *) echo "devcloud: DEVCLOUD_DB_BACKEND must be mariadb or postgresql" >&2; exit 1 ;;
esac
PG_HOST=${DEVCLOUD_PG_HOST:-127.0.0.1}
PG_USER=${DEVCLOUD_PG_USER:-root}
PG_PASSWORD=${DEVCLOUD_PG_PASSWORD:-}
HEAT_DB="${DB_PREFIX}_heat"
MISTRAL_DB="${DB_PREFIX}_mistral"
KEYSTONE_DB="${DB_PREFIX}_keystone"
RABBIT_URL=${DEVCLOUD_RABBIT_URL:-rabbit://guest:guest@127.0.0.1:5672/}
RABBIT_VHOST=${DEVCLOUD_RABBIT_VHOST:-}
[[ -z "$RABBIT_VHOST" || "$RABBIT_VHOST" =~ ^[A-Za-z0-9_-]+$ ]] \
    || { echo "devcloud: DEVCLOUD_RABBIT_VHOST must be letters, digits, _ or -" >&2; exit 1; }
PRIVATE_RABBIT_PORT=${DEVCLOUD_PRIVATE_RABBIT_PORT:-}
if [[ -n "$PRIVATE_RABBIT_PORT" ]]; then
    if ! [[ "$PRIVATE_RABBIT_PORT" =~ ^[1-9][0-9]{2,4}$ ]] || ((PRIVATE_RABBIT_PORT >= 65534)); then
        echo "devcloud: DEVCLOUD_PRIVATE_RABBIT_PORT must be a TCP port below 65534" >&2; exit 1
    fi
    RABBIT_URL="rabbit://guest:guest@127.0.0.1:$PRIVATE_RABBIT_PORT/"
    RABBIT_VHOST=""
fi
# A MariaDB server of this cloud alone (DEVCLOUD_PRIVATE_DB_PORT, see
# services.sh): Heat's, Mistral's and Keystone's databases on 127.0.0.1 at
# that port as root without a password, so that fault tests may stop and
# start it. The machine's MariaDB (3306) is shared and never stopped.
PRIVATE_DB_PORT=${DEVCLOUD_PRIVATE_DB_PORT:-}
DB_PORT=3306
if [[ -n "$PRIVATE_DB_PORT" ]]; then
    if ! [[ "$PRIVATE_DB_PORT" =~ ^[1-9][0-9]{2,4}$ ]] || ((PRIVATE_DB_PORT >= 65536)) \
        || ((PRIVATE_DB_PORT == 3306)); then
        echo "devcloud: DEVCLOUD_PRIVATE_DB_PORT must be a TCP port other than 3306" >&2; exit 1
    fi
    [[ "$DB_BACKEND" == mariadb ]] \
        || { echo "devcloud: DEVCLOUD_PRIVATE_DB_PORT is a MariaDB server (unset DEVCLOUD_DB_BACKEND)" >&2; exit 1; }
    DB_PORT=$PRIVATE_DB_PORT
    DB_HOST=127.0.0.1
    DB_USER=root
    DB_PASSWORD=""
fi
MARIADB_HOME="$ETC/mariadb"
MARIADB_STATE="$DC/mariadb"
# Mistral as separate processes (DEVCLOUD_MISTRAL_SPLIT=1, or start
# --mistral-split): mistral-api, MISTRAL_ENGINES engines, MISTRAL_EXECUTORS
# remote executors ([executor] type = remote), a notifier and the periodic
# server, each its own process group, pid file and log. 0: one
# mistral-server process (api,engine,periodic) with the local executor.
case "${DEVCLOUD_MISTRAL_SPLIT:-0}" in
    0) MISTRAL_SPLIT=0 ;;
    1) MISTRAL_SPLIT=1 ;;
    *) echo "devcloud: DEVCLOUD_MISTRAL_SPLIT must be 0 or 1" >&2; exit 1 ;;
esac
MISTRAL_ENGINES=2
MISTRAL_EXECUTORS=2
TIMEOUT=${DEVCLOUD_TIMEOUT:-180}
DEBUG=false
[[ "${DEVCLOUD_DEBUG:-0}" == 1 ]] && DEBUG=true
PYTHON=${DEVCLOUD_PYTHON:-python3.11}
PLUGIN_ENABLED=true
case "${DEVCLOUD_PLUGIN:-1}" in
    1) ;;
    0) PLUGIN_ENABLED=false ;;
    *) echo "devcloud: DEVCLOUD_PLUGIN must be 0 or 1" >&2; exit 1 ;;
esac
# Mistral at all (DEVCLOUD_MISTRAL=0: native Heat alone, which needs no
# Mistral; the parity suite's native cloud saves its start, its schema
# migrations and its idle load).
case "${DEVCLOUD_MISTRAL:-1}" in
    1) MISTRAL=1 ;;
    0) MISTRAL=0 ;;
    *) echo "devcloud: DEVCLOUD_MISTRAL must be 0 or 1" >&2; exit 1 ;;
esac
if ! ((MISTRAL)) && [[ "$PLUGIN_ENABLED" == true ]]; then
    echo "devcloud: DEVCLOUD_MISTRAL=0 needs DEVCLOUD_PLUGIN=0 (the plugin runs every traversal in Mistral)" >&2
    exit 1
fi
# Keystone mode; the start/restart options --keystone/--no-keystone override.
case "${DEVCLOUD_KEYSTONE:-0}" in
    0) KEYSTONE=0 ;;
    1) KEYSTONE=1 ;;
    *) echo "devcloud: DEVCLOUD_KEYSTONE must be 0 or 1" >&2; exit 1 ;;
esac
# Keystone mode passwords: a local test cloud, so fixed and written to
# accounts.json/openrc.* (mode 600); admin's is ADMIN_PASSWORD, every
# other account's is ACCOUNT_PASSWORD_PREFIX + its name.
ADMIN_PASSWORD=devcloud-admin
ACCOUNT_PASSWORD_PREFIX=devcloud-

# OpenStack's upper-constraints of Heat 27's series (2026.2), the file tox
# installs with too (its header says where it comes from); every pip
# install of the venv keeps within it. DEVCLOUD_CONSTRAINTS_FILE may name
# another file or a URL, e.g.
# https://releases.openstack.org/constraints/upper/2026.2. Heat, Mistral
# and Keystone are not in it (service projects never are): PINNED and
# KEYSTONE_PIN pin them. Part of the install hash.
CONSTRAINTS=${DEVCLOUD_CONSTRAINTS_FILE:-$REPO/tools/constraints/upper-constraints-2026.2.txt}
# Installed next to the package itself (-e REPO). Part of the install hash.
# cheroot serves heat-api and Keystone (heat_api_wsgi.py); Mistral 23
# requires it too, so naming it installs nothing more.
PINNED=(openstack-heat==27.0.1 mistral==23.0.0 python-openstackclient
        python-heatclient python-mistralclient PyMySQL cheroot)
# Keystone mode only, installed on top with every installed version held
# (see ensure_keystone_installed). 30.0.0 is the release of Heat 27.0.1's
# and Mistral 23.0.0's OpenStack series.
KEYSTONE_PIN=keystone==30.0.0
# DEVCLOUD_DB_BACKEND=postgresql only, installed on top as Keystone is
# (see ensure_db_driver); the version comes from the constraints.
PG_DRIVER=psycopg2-binary

# The private RabbitMQ (DEVCLOUD_PRIVATE_RABBIT_PORT, see services.sh).
RABBIT_HOME="$ETC/rabbitmq"
RABBIT_STATE="$DC/rabbitmq"
RABBIT_SERVER=${DEVCLOUD_RABBITMQ_SERVER:-}

# Seconds stop waits after TERM before it KILLs (see stop_all).
STOP_GRACE=${DEVCLOUD_STOP_GRACE:-10}
