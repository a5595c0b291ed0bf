#!/usr/bin/env bash
# devstack plugin for heat-mistral-engine.
#   enable_plugin heat-mistral-engine <repo> [branch]
# Needs the heat and mistral plugins enabled before it, so that each of its
# phases runs after theirs (settings refuses another order). Installs the
# package into the environment Heat and Mistral run from, enables the
# scheduler in heat.conf and points it at Mistral; with
# HEAT_MISTRAL_ENGINE_TUNE_MISTRAL=True also applies the Mistral-wide
# settings that make stacks faster (settings, and the operator guide).
#
# No restart is needed: the heat and mistral plugins start their services
# in the "extra" phase, after this plugin's "install" (so heat-engine finds
# the plugin and mistral-executor the heat.run_node action entry point) and
# "post-config" (so they read the settings below).
#
# Variables from the other plugins: HEAT_CONF (heat's devstack/lib/heat),
# MISTRAL_CONF_FILE (mistral's devstack/settings) and MISTRAL_BIN_DIR
# (mistral's devstack/plugin.sh).

# The requirements pip may resolve here: all but Heat and Mistral.
function heat_mistral_engine_requirements {
    grep -v -i -E '^[[:space:]]*(openstack-heat|mistral)([^A-Za-z0-9._-]|$)' \
        "$HEAT_MISTRAL_ENGINE_DIR/requirements.txt"
}

function install_heat_mistral_engine {
    # Heat and Mistral belong to the heat and mistral plugins, often
    # installed from source: pip must not resolve them again, or a
    # requirement the source tree does not meet would make pip install a
    # release from the package index over it. So the other requirements go
    # in first (with devstack's constraints, as pip_install always does),
    # then the package itself without dependencies; heat-engine refuses a
    # Heat release the plugin was not written for (heat_release.py).
    local reqs
    reqs=$(mktemp)
    heat_mistral_engine_requirements >"$reqs"
    pip_install -r "$reqs"
    rm -f "$reqs"
    setup_package "$HEAT_MISTRAL_ENGINE_DIR" "--no-deps -e"
    # What setup_package does after a plain "-e": pip run with sudo (no
    # global venv) leaves the egg-info to root.
    local info
    for info in "$HEAT_MISTRAL_ENGINE_DIR"/*.egg-info; do
        if [[ -d "$info" && "$GLOBAL_VENV" == "False" ]]; then
            safe_chown -R "$STACK_USER" "$info"
        fi
    done
}

function configure_heat_mistral_engine {
    iniset "$HEAT_CONF" mistral_scheduler enabled "$HEAT_MISTRAL_ENGINE_ENABLED"
    iniset "$HEAT_CONF" mistral_scheduler auth_type password
    iniset "$HEAT_CONF" mistral_scheduler auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$HEAT_CONF" mistral_scheduler username heat
    iniset "$HEAT_CONF" mistral_scheduler password "$SERVICE_PASSWORD"
    iniset "$HEAT_CONF" mistral_scheduler project_name "$SERVICE_PROJECT_NAME"
    iniset "$HEAT_CONF" mistral_scheduler user_domain_id default
    iniset "$HEAT_CONF" mistral_scheduler project_domain_id default
    # Mistral in this region's catalog: its internal endpoint, or the
    # public one when it has none (the default valid_interfaces).
    iniset "$HEAT_CONF" mistral_scheduler region_name "$REGION_NAME"

    # Let users see their stacks' workflows (operator guide): heat-api's
    # workflow_view filter right before apiv1app in each pipeline.
    local paste=${HEAT_API_PASTE_FILE:-$HEAT_CONF_DIR/api-paste.ini}
    sed -i '/ workflow_view apiv1app$/!s/^\([a-z]* = .*\) apiv1app$/\1 workflow_view apiv1app/' "$paste"
    iniset "$paste" filter:workflow_view paste.filter_factory \
        heat_mistral_engine.heat.api.workflow_view:filter_factory

    # Not a tuning: the heat.* actions act only in executions of the
    # project that owns the generated workflows, that of heat's account
    # above (Keystone runs by post-config, and has made the service
    # project); unset, they refuse every node.
    iniset "$MISTRAL_CONF_FILE" heat_mistral_engine service_project_id \
        "$(get_or_create_project "$SERVICE_PROJECT_NAME" default)"
    if [[ "$HEAT_MISTRAL_ENGINE_TUNE_MISTRAL" == "True" ]]; then
        tune_mistral_for_heat_mistral_engine
    fi
}

# HEAT_MISTRAL_ENGINE_TUNE_MISTRAL=True only: each of these changes Mistral
# for every project that uses it (operator guide, "A Mistral shared with
# other projects").
function tune_mistral_for_heat_mistral_engine {
    # Mistral 23's API master can fork a worker that never answers when
    # cron triggers run in the API (operator guide, "Mistral settings that
    # matter"): run them in a periodic server instead (start_mistral_periodic).
    iniset "$MISTRAL_CONF_FILE" cron_trigger run_in_api False
    # Honour the plugin's skip_validation on the workflows it generates
    # (Mistral's own check costs ~0.15 s of CPU per task); any client may
    # then skip the check of its own workflows.
    iniset "$MISTRAL_CONF_FILE" api validation_mode enabled
    # As tools/devcloud: heat.run_node only casts, so running actions in
    # Mistral's engine saves an RPC hop per task (operator guide, Sizing);
    # every project's actions then run in the engine.
    iniset "$MISTRAL_CONF_FILE" executor type local
    # The opt-in patches of Mistral's engine, for the generated workflows.
    iniset "$MISTRAL_CONF_FILE" heat_mistral_engine local_task_start True
    iniset "$MISTRAL_CONF_FILE" heat_mistral_engine prompt_joins True
}

function _mistral_runs_as_separate_services {
    # The same test mistral's start_mistral uses; otherwise it runs
    # "mistral-server --server all", which includes the periodic server.
    is_service_enabled mistral-api && is_service_enabled mistral-engine &&
        is_service_enabled mistral-executor &&
        is_service_enabled mistral-event-engine
}

function start_mistral_periodic {
    if _mistral_runs_as_separate_services; then
        echo_summary "Starting Mistral's periodic server for cron triggers"
        run_process mistral-periodic "$MISTRAL_BIN_DIR/mistral-server --server periodic --config-file $MISTRAL_CONF_FILE"
    fi
}

if is_service_enabled heat && is_service_enabled mistral; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing heat-mistral-engine"
        install_heat_mistral_engine
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring heat-mistral-engine"
        configure_heat_mistral_engine
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        if [[ "$HEAT_MISTRAL_ENGINE_TUNE_MISTRAL" == "True" ]]; then
            start_mistral_periodic
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_process mistral-periodic
    fi
fi
