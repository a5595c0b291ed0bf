#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""heat.conf options of heat-mistral-engine, read inside heat-engine.

Everything lives in the ``[mistral_scheduler]`` group. The Keystone
credentials heat-engine uses to talk to Mistral are the standard
keystoneauth options of the same group (``auth_type``, ``auth_url``, ...):
generated workflows and executions are owned by that service account, not by
the stack's user, so a user cannot edit the workflow that orders their stack.
With no ``auth_type`` the client talks to a Mistral that runs without
authentication (``[pecan] auth_enable = False``), as the local cloud does.
"""

import urllib.parse

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = 'mistral_scheduler'

OPTS = [
    cfg.BoolOpt('enabled', default=False,
                help='Let Mistral order the resource actions of stack '
                     'traversals and carry the data between resources. '
                     'When false the plugin is loaded but changes nothing.'),
    # A StrOpt checked by check_url(), not a URIOpt: oslo.service logs
    # every option at start and a URIOpt's invalid value would kill the
    # whole heat-engine there. A bad URL must fail only Mistral's stacks.
    # Kept as an option of its own, not as a deprecated name of
    # endpoint_override, so that a bad value is reported under the name
    # the operator wrote.
    cfg.StrOpt('mistral_url',
               deprecated_for_removal=True,
               deprecated_since='2026.2',
               deprecated_reason='Use endpoint_override, keystoneauth\'s '
                                 'option for the same URL (it wins when '
                                 'both are set).',
               help='Root of the Mistral v2 API, for example '
                    'http://mistral.example.com:8989/v2. Replaced by '
                    'endpoint_override.'),
    cfg.StrOpt('rpc_topic', default='heat-mistral-engine',
               help='oslo.messaging topic on which heat-engines receive '
                    'resource nodes from the Mistral action. Must match '
                    '[heat_mistral_engine] rpc_topic in mistral.conf.'),
    cfg.BoolOpt('skip_workflow_validation', default=True,
                help='Ask Mistral not to re-check the syntax of the '
                     'workflows this plugin generates (they are compiled '
                     'from a graph Heat already validated). Mistral\'s '
                     'check costs about 0.15 s of CPU per task, minutes for '
                     'a stack of 1000 resources. Mistral honours the request '
                     'only with [api] validation_mode = enabled in '
                     'mistral.conf (its default, mandatory, always checks).'),
    cfg.IntOpt('max_node_data_kb', default=1024, min=1,
               help='Largest node data (the attribute values other '
                    'resources reference) one resource may hand to Mistral, '
                    'in KiB. Keep it at or below Mistral\'s [engine] '
                    'execution_field_size_limit_kb (default 1024): a '
                    'resource over it fails, naming the attribute, instead '
                    'of Mistral refusing or truncating the value.'),
    cfg.BoolOpt('lean_node_definitions', default=True,
                help='When a resource node runs for Mistral, parse only the '
                     'resource definitions it needs (its own, those it reads '
                     'from and those that may read from it) instead of '
                     'every resource of the template, as Heat does for each '
                     'node. What the node sees is the same; templates with '
                     'conditional resources and template formats other '
                     'than HOT and CFN keep Heat\'s full parse. Measured '
                     'offline (tools/bench/node_cost.py, 1000 resources in '
                     '10 layers), the median CPU of a create node in '
                     'heat-engine went from about 250 ms to 60 ms. Heat\'s '
                     'show_stack (openstack stack show) is made lean the '
                     'same way: 0.13 s of heat-engine CPU instead of 0.9 s '
                     'for 500 resources. Set to false to use Heat\'s own '
                     'parsing everywhere.'),
    cfg.BoolOpt('share_decoded_stacks', default=True,
                help='When resource nodes run for Mistral, decode each '
                     'stack\'s template and dependency graph once per '
                     'engine worker and traversal and let its nodes share '
                     'them (read-only), instead of decoding both for every '
                     'node as Heat does. For 1000 resources that is about '
                     '220 KB of JSON per node, and the copies held by '
                     'nodes running together made Python\'s garbage '
                     'collector cost about a third of heat-engine\'s CPU. '
                     'Set to false to let every node decode its own.'),
    cfg.BoolOpt('survive_db_restarts', default=True,
                help='Let every call of heat-engine to Heat\'s database '
                     'wait while the database restarts, retrying a lost '
                     'connection as Heat does for a few of its calls '
                     '(bounded by [database] db_max_retries, '
                     'db_retry_interval, db_inc_retry_interval and '
                     'db_max_retry_interval), instead of failing the '
                     'resource action that made it. Set to false for '
                     'Heat\'s own behaviour.'),
    cfg.IntOpt('max_concurrent_resources', default=0, min=0,
               help='Most resource actions (create, update, delete) one '
                    'stack traversal runs at once, across all '
                    'heat-engines; further ready resources wait for a free '
                    'slot. 0 means unlimited. A stack overrides it with '
                    'the tag mistral_max_concurrent_resources=N (0 lifts '
                    'the limit for that stack). Nested stacks are '
                    'separate stacks: each has its own limit.'),
    cfg.IntOpt('direct_completion_timeout', default=10, min=1,
               help='Seconds a heat-engine waits for a Mistral engine to '
                    'take a finished resource node directly (offered by '
                    'Mistral, see [heat_mistral_engine] direct_completions '
                    'in mistral.conf). Without an answer by then, the '
                    'result goes through Mistral\'s API; after two such '
                    'calls in a row, so do all results of that heat-engine '
                    'for the next minute (no Mistral engine has loaded the '
                    'plugin yet, after a Mistral restart).'),
    cfg.IntOpt('report_retry_timeout', default=120, min=0,
               help='Seconds a heat-engine keeps retrying to report a '
                    'finished resource node to Mistral while Mistral cannot '
                    'be reached or answers with a server error (for example '
                    'while it restarts). After that the stack fails, naming '
                    'Mistral.'),
    cfg.IntOpt('watchdog_interval', default=30, min=0,
               help='Seconds between two scans, in every heat-engine '
                    'worker, for resource nodes whose heat-engine died '
                    '(see lost_node_timeout); such a node is re-run in a '
                    'live engine, which completes its Mistral task. 0 '
                    'disables the scan. A node of a dead engine is taken '
                    'over within watchdog_interval + dead_engine_silence + '
                    '[DEFAULT] engine_life_check_timeout seconds.'),
    cfg.IntOpt('dead_engine_silence', default=40, min=0,
               help='Seconds a heat-engine must keep failing Heat\'s '
                    'liveness check, while the engine asking answers its '
                    'own, before it is taken for dead and its resource '
                    'nodes, claims and concurrency slots are taken over. '
                    'After a message broker restart, engines reconnect one '
                    'by one (oslo.messaging backs off up to '
                    '[oslo_messaging_rabbit] rabbit_interval_max, 30 s), so '
                    'a live engine may be silent for that long; keep this '
                    'above it. A node of a dead engine is taken over within '
                    'watchdog_interval + dead_engine_silence + [DEFAULT] '
                    'engine_life_check_timeout seconds.'),
    cfg.IntOpt('engine_heartbeat_interval', default=10, min=1,
               help='Seconds between two heartbeats of each heat-engine '
                    'worker in Heat\'s database (the updated_at of its row '
                    'of Heat\'s service table, which Heat itself updates '
                    'only every [DEFAULT] periodic_interval). An engine '
                    'that fails the liveness check on the message bus but '
                    'whose heartbeat still moves is cut off from the '
                    'broker, not dead: its resource nodes, claims and '
                    'slots are left to it. Keep it well under '
                    'dead_engine_silence: an engine is taken for dead only '
                    'once its heartbeat has not moved for '
                    'dead_engine_silence seconds.'),
    cfg.IntOpt('lost_node_timeout', default=180, min=10,
               help='Seconds after which a node that Mistral handed to '
                    'the heat-engines, and that no live engine has started '
                    '(its resource is unlocked and untouched since), is '
                    'taken for lost with a dead engine or broker and run '
                    'again. Should exceed the longest time a node can wait '
                    'in a busy engine before it starts; a node run twice '
                    'is still safe (Heat\'s resource lock serialises the '
                    'runs).'),
    cfg.IntOpt('orphan_check_interval', default=300, min=0,
               help='Seconds between two runs, in every heat-engine worker, '
                    'of the orphan check (see heat-mistral-engine '
                    'check-orphans): Mistral executions still running for '
                    'a stack or traversal that is over are cancelled, and '
                    'stacks IN_PROGRESS whose traversal has no running '
                    'execution are marked FAILED. 0 disables it.'),
    cfg.IntOpt('failure_poll_interval', default=5, min=0,
               help='Seconds between two looks, in every heat-engine '
                    'worker, for tasks and executions of the stacks\' '
                    'Mistral workflows that ended in ERROR inside Mistral '
                    '(for example a task whose input exceeds Mistral\'s '
                    '[engine] execution_field_size_limit_kb, a task '
                    'timeout, an internal error of Mistral, an execution '
                    'failed by hand): the stack is marked FAILED, with a '
                    'reason naming the resource, within about this many '
                    'seconds. Each look costs two Mistral API calls. 0 '
                    'disables it; the orphan check then fails such stacks, '
                    'within orphan_check_interval + orphan_grace_period.'),
    cfg.IntOpt('orphan_grace_period', default=120, min=10,
               help='Seconds a disagreement between a stack and its '
                    'Mistral execution must last before the orphan check '
                    'repairs it (a traversal being started or finished '
                    'disagrees briefly).'),
    cfg.IntOpt('max_traversal_redrives', default=3, min=0,
               help='How many times the orphan check drives one traversal '
                    'again when its Mistral execution lost its progress '
                    '(RUNNING, but no resource ran and no task changed for '
                    'orphan_grace_period, as when a Mistral engine is '
                    'killed or the broker loses a cast): the stalled '
                    'execution is cancelled and a fresh execution of the '
                    'same traversal starts, in which the resources already '
                    'done answer from their earlier run and only the rest '
                    'runs. Once this many re-drives were made, and for '
                    'nested stacks, the stack is marked FAILED instead, to '
                    'be recovered with "openstack stack update --existing". '
                    '0 disables re-drives.'),
    cfg.BoolOpt('node_task_timeout', default=False,
                help='Give each resource task of the generated workflows a '
                     'Mistral timeout (the stack\'s timeout plus 60 s), '
                     'after which Mistral fails a task that no heat-engine '
                     'completed. Off by default: the watchdog re-runs such '
                     'nodes (see watchdog_interval and lost_node_timeout) '
                     'and the orphan check ends executions of stacks that '
                     'are over, within the bounds the operator guide '
                     'gives, and each timeout costs Mistral a policy check '
                     'and a stored delayed call per task (about a tenth of '
                     'its CPU per task). With watchdog_interval = 0 the '
                     'tasks get the timeout anyway, since nothing else '
                     'ends a lost node. Operator hook tasks keep their '
                     'timeout either way.'),
    cfg.IntOpt('handover_delay_max_ms', default=0, min=0,
               help='For tests only: sleep a random 0 to this many '
                    'milliseconds at each hand-over point between Heat and '
                    'Mistral (upload and execution start of a traversal, '
                    'before a node runs, before its action is completed), '
                    'so that races show on a small test machine. Never set '
                    'it in production. 0 (the default) disables it.'),
    cfg.StrOpt('operator_hooks_file', default='',
               help='YAML file of operator hooks: Mistral workflows run '
                    'before or after the create, update or delete of the '
                    'resources they select by type or name, in every stack '
                    'this scheduler orders, without editing templates (see '
                    'the operator guide, "Operator hooks"). The workflows '
                    'must exist in the project of the credentials in this '
                    'group, and run with them. Re-read when the file '
                    'changes. Empty: no hooks. A file that cannot be read '
                    'or parsed fails every stack create and update with a '
                    'message naming the file and the entry.'),
]


URL_SCHEMES = ('http', 'https')


def check_url(value):
    """Return why ``value`` is not a usable Mistral URL, or None."""
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in URL_SCHEMES or not parsed.hostname:
        return ('%r is not an http:// or https:// URL with a host, such as '
                'http://mistral.example.com:8989/v2' % value)
    return None


# The options this package had before it used keystoneauth's, read as
# deprecated names of keystoneauth's (mistral_url is an option of its own,
# see OPTS).
DEPRECATED_SESSION_OPTS = {
    'timeout': [cfg.DeprecatedOpt('request_timeout', group=GROUP)],
}
DEPRECATED_ADAPTER_OPTS = {
    'valid_interfaces': [cfg.DeprecatedOpt('endpoint_interface',
                                           group=GROUP)],
}

# Defaults of keystoneauth's options for this client: Mistral's service
# type; the internal endpoint first, as before, then the public one, which
# is the only one some clouds register; the 30 s that request_timeout had.
KEYSTONEAUTH_DEFAULTS = {
    'service_type': 'workflowv2',
    'valid_interfaces': ['internal', 'public'],
    'timeout': 30,
}


def keystoneauth_opts():
    """keystoneauth's session and Adapter options, with this group's defaults.

    Returns new oslo.config Opt objects: the session options (cafile,
    timeout, ...) and the Adapter options (region_name, valid_interfaces,
    endpoint_override, connect_retries, ...) without keystoneauth's own
    deprecated ``interface``, whose place ``endpoint_interface`` takes.
    The auth options depend on auth_type and are registered apart.
    """
    session_opts = ks_loading.get_session_conf_options(
        deprecated_opts=DEPRECATED_SESSION_OPTS)
    adapter_opts = ks_loading.get_adapter_conf_options(
        include_deprecated=False, deprecated_opts=DEPRECATED_ADAPTER_OPTS)
    opts = session_opts + adapter_opts
    cfg.set_defaults(opts, **KEYSTONEAUTH_DEFAULTS)
    return opts


def register_opts(conf=cfg.CONF):
    """Register the options and keystoneauth options; safe to call twice."""
    conf.register_opts(OPTS, group=GROUP)
    conf.register_opts(keystoneauth_opts(), group=GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)


def list_opts():
    """Options for oslo-config-generator (entry point oslo.config.opts)."""
    auth_opts = ks_loading.get_auth_common_conf_options()
    return [(GROUP, OPTS + keystoneauth_opts() + auth_opts)]
