#!/usr/bin/env bash
# devstack plugin for heat-mistral-engine.
#   enable_plugin heat-mistral-engine <repo> [branch]
# Needs the heat and mistral plugins enabled before it. Installs the package
# into the environment Heat and Mistral run from, enables the scheduler in
# heat.conf and points it at Mistral; the services are (re)started by
# devstack after the post-config phase.

function install_heat_mistral_engine {
    setup_develop "$HEAT_MISTRAL_ENGINE_DIR"
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
}

if is_service_enabled heat && is_service_enabled mistral; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing heat-mistral-engine"
        install_heat_mistral_engine
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring heat-mistral-engine"
        configure_heat_mistral_engine
    fi
fi
