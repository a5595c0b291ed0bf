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

"""mistral.conf options read by the heat-mistral-engine action.

They live in ``[heat_mistral_engine]`` of mistral.conf, because the action
runs inside mistral-executor, whose configuration is Mistral's.
"""

from oslo_config import cfg

GROUP = 'heat_mistral_engine'

OPTS = [
    cfg.StrOpt('transport_url', secret=True,
               help='oslo.messaging transport URL of the broker that the '
                    'heat-engines listen on. Unset: Mistral\'s own '
                    '[DEFAULT] transport_url (a shared broker).'),
    cfg.StrOpt('heat_exchange', default='heat',
               help='oslo.messaging exchange of the heat-engines: Heat\'s '
                    '[DEFAULT] control_exchange.'),
    cfg.StrOpt('rpc_topic', default='heat-mistral-engine',
               help='Topic on which heat-engines receive resource nodes. '
                    'Must match [mistral_scheduler] rpc_topic in heat.conf.'),
    cfg.StrOpt('service_project_id',
               help='Id of the Keystone project that owns the workflows '
                    'heat-engine generates: the project of the account '
                    'of [mistral_scheduler] in heat.conf (the service '
                    'project). The heat.run_node and heat.hook_report '
                    'actions act only as tasks of that project\'s '
                    'generated workflow executions, and refuse to run '
                    'while this is unset and Mistral authenticates '
                    '([pecan] auth_enable = true). Without authentication '
                    'Mistral keeps everything in one project, and this is '
                    'not read.'),
    cfg.BoolOpt('lean_start_task', default=True,
                help='Stop Mistral\'s engine from sending the whole '
                     'workflow definition with every task it starts (an '
                     'RPC parameter the receiving engine never reads). '
                     'Without this, starting each task of a big generated '
                     'workflow costs CPU that grows with the workflow '
                     '(seconds per task for a fan-out of 500). Applied '
                     'only to Mistral 23.x, where it was checked.'),
    cfg.BoolOpt('local_task_start', default=False,
                help='Let the Mistral engine that completed a task start '
                     'the first task that this completion makes ready '
                     'itself, right after its commit, instead of sending '
                     'it over RPC to any engine (itself included). Saves a '
                     'broker round trip per resource along every chain of '
                     'dependencies. The other tasks made ready by the same '
                     'completion (a fan-out) are still sent over RPC, so '
                     'they spread over the engines. Only for workflows '
                     'named heat_stack_* (the generated ones, or a '
                     'tenant\'s named so); off by default because it '
                     'changes where tasks start in a Mistral that other '
                     'projects may share. Applied only to Mistral 23.x, '
                     'where it was checked.'),
    cfg.BoolOpt('async_heartbeats_off', default=True,
                help='Let Mistral\'s executor run this package\'s '
                     'asynchronous action (heat.run_node) without '
                     'registering it for action heartbeats: Mistral\'s '
                     'heartbeat checker only looks at synchronous actions, '
                     'yet each registration costs an RPC and a database '
                     'transaction in Mistral\'s engine per task. Every '
                     'other action keeps its heartbeats. Applied only to '
                     'Mistral 23.x, where it was checked.'),
    cfg.BoolOpt('cache_expressions', default=True,
                help='Keep Jinja expressions compiled, and Mistral\'s '
                     'expression functions loaded, in each Mistral '
                     'process. Without this, Mistral compiles every '
                     'expression again each time it evaluates it and '
                     'reloads its functions from their entry points: '
                     'about 0.8 ms of CPU per expression, and every task '
                     'of a generated workflow evaluates five or more. '
                     'Applied only to Mistral 23.x, where it was '
                     'checked.'),
    cfg.BoolOpt('load_execution_data_together', default=True,
                help='Load a workflow execution\'s input, params and '
                     'context in one database query, the first time a '
                     'transaction reads one of them, instead of one query '
                     'each: Mistral\'s engine reads all three in every '
                     'transaction that starts or completes a task. They '
                     'stay deferred: a query that reads none of them does '
                     'not load them. Applied only to Mistral 23.x with '
                     'SQLAlchemy 2.0 or 2.1, where it was checked.'),
    cfg.BoolOpt('skip_redundant_queries', default=True,
                help='Spare Mistral\'s engine three database queries per task '
                     'that read what its transaction already holds: '
                     'task() in a task\'s publish takes the task being '
                     'completed from the transaction instead of selecting '
                     'it again, and a task\'s or workflow\'s state change '
                     '(an UPDATE that matches the row\'s id and old '
                     'state) no longer selects that id back afterwards. '
                     'Applied only to Mistral 23.x, where it was checked.'),
    cfg.BoolOpt('direct_completions', default=True,
                help='Let heat-engines hand each finished resource node '
                     'straight to a Mistral engine, over the broker of '
                     'transport_url, instead of through Mistral\'s API '
                     '(an HTTP request that mistral-api turns into the '
                     'same call to an engine). Each Mistral engine that has '
                     'loaded this package\'s actions serves the call on '
                     'topic <rpc_topic>-completions of heat_exchange; a '
                     'heat-engine whose call is not answered uses the API. '
                     'Applied only to Mistral 23.x without authentication '
                     '([pecan] auth_enable = false): with Keystone, the '
                     'caller\'s identity is what the API checks, so the '
                     'API is kept.'),
    cfg.BoolOpt('own_task_context', default=True,
                help='Let a task whose definition carries the tag '
                     'heat-mistral-engine:no-context (every resource task '
                     'of the workflows heat-engine generates; the tasks '
                     'after it read what it published with task()) pass '
                     'on nothing to the tasks after it, and a task with '
                     'the tag heat-mistral-engine:own-context (what '
                     'heat-engine generated before) only what it '
                     'published. Without this, each task stores in its '
                     'in_context the data of every resource before it: '
                     'along a chain of N resources, N / 2 times what they '
                     'published. Tasks without either tag get Mistral\'s '
                     'context as always, whatever their workflow. Applied '
                     'only to Mistral 23.x, where it was checked.'),
    cfg.BoolOpt('prompt_joins', default=False,
                help='Check a join task (a resource that needs two or more '
                     'others) right after the transaction that completed '
                     'one of its inbound tasks commits, in the thread '
                     'Mistral runs its post-commit work in. Without this, '
                     'only Mistral\'s scheduler starts join tasks: each '
                     'waits for its next poll ([scheduler] fixed_delay, '
                     '1 s), and one thread per engine starts them all. '
                     'Mistral\'s scheduled check is kept either way. Only '
                     'for workflows named heat_stack_* (the generated '
                     'ones, or a tenant\'s named so); off by default '
                     'because it changes when join tasks start in a '
                     'Mistral that other projects may share. Applied only '
                     'to Mistral 23.x, where it was checked.'),
]


def register_opts(conf=cfg.CONF):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
