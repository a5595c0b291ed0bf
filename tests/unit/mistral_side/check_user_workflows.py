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

"""Run by tests/unit/mistral/patches/test_user_workflows.py in a child
process: Mistral's options and Heat's clash in one process.

Runs Mistral's real engine in this process, as Mistral's own engine tests
do (its RPC on oslo.messaging's in-process ``fake`` driver, the local
executor, its scheduler, the database on in-memory SQLite), then plain
user workflows (``user_workflows``: std.echo, std.noop and std.fail;
publish, join, with-items, retries, on-error; a reverse workflow) and
prints one JSON line: the patches in place, what each execution ended with
(its state and output, each task's state, published values and action
executions), and which tasks of which workflow the opt-in patches handled.

Argument ``patched``: every option of ``[heat_mistral_engine]`` on, the
opt-in ones too, and each workflow runs twice, under its own name and
under a name of the generated workflows (``heat_stack_...``, the only
ones the opt-in patches apply to). ``upstream``: every option off (no
patch), each workflow once under its own name.
"""

import json
import os
import sys
import time

import oslo_service.backend as service_backend
service_backend.init_backend(service_backend.BackendType.THREADING)

import mistral.config  # noqa: E402,F401  (what makes this a Mistral process)
from oslo_config import cfg  # noqa: E402
from oslo_db import options as db_options  # noqa: E402
import oslo_messaging  # noqa: E402

MODE = sys.argv[1]
assert MODE in ('patched', 'upstream'), MODE

db_options.set_defaults(cfg.CONF)
cfg.CONF([], project='mistral')
cfg.CONF.set_override('connection', 'sqlite://', group='database')
# As Mistral's engine tests: the transport's options first, then its
# in-process driver.
oslo_messaging.get_transport(cfg.CONF)
cfg.CONF.set_override('transport_url', 'fake:/')
cfg.CONF.set_override('type', 'local', group='executor')
cfg.CONF.set_override('auth_enable', False, group='pecan')
# The scheduler's poll (join checks and retries wait for it): shorter than
# Mistral's default 1 s, for a shorter test.
cfg.CONF.set_override('fixed_delay', 0.5, group='scheduler')

from heat_mistral_engine.mistral import options  # noqa: E402
from heat_mistral_engine.mistral.patches import (  # noqa: E402
    local_task_start)
from heat_mistral_engine.mistral.patches import prompt_joins  # noqa: E402
from heat_mistral_engine.mistral.patches import registry  # noqa: E402
from tests.unit.mistral_side import user_workflows  # noqa: E402

# The task execution ids the opt-in patches handled: their factories are
# called once, when the patch is applied, so counting wrappers go in first.
HANDLED = {'local_starts': [], 'prompt_checks': []}


def counting(factory, key):
    def make():
        real = factory()

        def call(task_ex_id, *args):
            HANDLED[key].append(task_ex_id)
            return real(task_ex_id, *args)
        return call
    return make


local_task_start.task_starter = counting(local_task_start.task_starter,
                                         'local_starts')
prompt_joins.join_refresher = counting(prompt_joins.join_refresher,
                                       'prompt_checks')

options.register_opts(cfg.CONF)
for opt in options.OPTS:
    if isinstance(opt, cfg.BoolOpt):
        cfg.CONF.set_override(opt.name, MODE == 'patched',
                              group=options.GROUP)
installed = registry.install_all()

from mistral import context as auth_ctx  # noqa: E402
from mistral.db.v2 import api as db_api  # noqa: E402
from mistral.engine import engine_server  # noqa: E402
from mistral.rpc import base as rpc_base  # noqa: E402
from mistral.rpc import clients as rpc_clients  # noqa: E402
from mistral.services import actions as action_service  # noqa: E402
from mistral.services import workflows as wf_service  # noqa: E402

# The opt-in patches apply to workflows named so (graph.workflow).
GENERATED_PREFIX = 'heat_stack_'
TIMEOUT = 60


def start_engine():
    """Mistral's engine server with its scheduler, as its tests start it."""
    rpc_base.cleanup()
    rpc_clients.cleanup()
    db_api.setup_db()
    service = engine_server.get_oslo_service(setup_profiler=False)
    service.start()
    service.wait_started()
    action_service.get_system_action_provider()
    return service


def ended(wf_ex_id):
    with db_api.transaction():
        return db_api.get_workflow_execution(wf_ex_id).state in (
            'SUCCESS', 'ERROR', 'CANCELLED')


def outcome(wf_ex_id):
    """What the execution ended with; no ids, no times."""
    with db_api.transaction():
        wf_ex = db_api.get_workflow_execution(wf_ex_id)
        tasks = {}
        for task_ex in wf_ex.task_executions:
            tasks[task_ex.name] = {
                'state': task_ex.state,
                'published': task_ex.published,
                # Sorted: with-items and retries run actions in no fixed
                # order.
                'actions': sorted(
                    ([a.state, a.output] for a in task_ex.action_executions),
                    key=json.dumps),
                'retry_no': (task_ex.runtime_context or {}).get(
                    'retry_task_policy', {}).get('retry_no'),
            }
        return {'state': wf_ex.state, 'output': wf_ex.output,
                'tasks': tasks}


def handled_by_workflow():
    """{workflow name: {'local_starts': n, 'prompt_checks': n}}."""
    counts = {}
    with db_api.transaction():
        for key, task_ex_ids in HANDLED.items():
            for task_ex_id in task_ex_ids:
                name = db_api.get_task_execution(task_ex_id).workflow_name
                per = counts.setdefault(
                    name, {'local_starts': 0, 'prompt_checks': 0})
                per[key] += 1
    return counts


def run(client, name, text, wf_input, params):
    wf_service.create_workflows(text % {'name': name})
    wf_ex = client.start_workflow(name, '', None, wf_input, '', **params)
    deadline = time.time() + TIMEOUT
    while not ended(wf_ex['id']):
        if time.time() > deadline:
            return {'state': 'TIMED OUT', 'seen': outcome(wf_ex['id'])}
        time.sleep(0.2)
    return outcome(wf_ex['id'])


def main():
    auth_ctx.set_ctx(auth_ctx.MistralContext())
    service = start_engine()
    client = rpc_clients.get_engine_client()
    results = {}
    try:
        for name, (text, wf_input, params) in sorted(
                user_workflows.WORKFLOWS.items()):
            names = [name]
            if MODE == 'patched':
                names.append(GENERATED_PREFIX + name)
            for as_name in names:
                results[as_name] = run(client, as_name, text, wf_input,
                                       params)
        handled = handled_by_workflow()
    finally:
        service.stop(True)
    print(json.dumps({'installed': installed, 'results': results,
                      'handled': handled}, sort_keys=True))
    sys.stdout.flush()
    # Mistral's engine leaves threads behind that keep a process alive for
    # minutes after its server stopped; this one has said all it had to.
    os._exit(0)


main()
