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

"""Run by tests/unit/mistral/patches/test_local_task_start.py in a child
process: Mistral's options and Heat's clash in one process.

Installs the local_task_start patch (with lean_start_task, as Mistral loads
them) on the real Mistral, then has a post-commit queue runner start three
tasks the way Mistral's dispatcher does, with the engine's own
``DefaultEngine.start_task`` replaced by a recorder and the RPC client by a
mock. Prints one JSON line with what started where, in which order, and
whether operations queued after the local start still ran. The option is
opt-in, so the check turns it on. Arguments: ``disabled`` (the option
left off), ``failing`` (the local start raises), ``deadlock`` (its first
attempt hits a database deadlock), ``other`` (the tasks belong to a
workflow that is not named like a generated one).
"""

import json
import sys
import threading
from unittest import mock

import mistral.config  # noqa: F401  (what makes this a Mistral process)
from oslo_config import cfg

cfg.CONF([], project='mistral')
if 'disabled' not in sys.argv[1:]:
    from heat_mistral_engine.mistral import options
    options.register_opts(cfg.CONF)
    cfg.CONF.set_override('local_task_start', True, group=options.GROUP)

from mistral.engine import default_engine  # noqa: E402
from oslo_db import exception as db_exc  # noqa: E402
from mistral.engine import post_tx_queue  # noqa: E402
from mistral.rpc import clients  # noqa: E402

from heat_mistral_engine.mistral.patches import (  # noqa: E402
    lean_start_task)
from heat_mistral_engine.mistral.patches import (  # noqa: E402
    local_task_start)

lean_start_task.PATCH.install()
installed = local_task_start.PATCH.install()
events = []
done = threading.Event()

client = clients.EngineClient.__new__(clients.EngineClient)
client._client = mock.Mock()
client._client.async_call.side_effect = (
    lambda ctx, method, **kw: events.append(
        ['cast', kw['task_ex_id'], sorted(kw['params'])]))


@post_tx_queue.run   # as Mistral's DefaultEngine.start_task is
def start_task(self, task_ex_id, first_run, waiting, triggered_by, rerun,
               reset, **params):
    events.append(['here', task_ex_id, first_run])
    if 'failing' in sys.argv[1:]:
        raise RuntimeError('database went away')
    if 'deadlock' in sys.argv[1:] and len(events) == 1:
        raise db_exc.DBDeadlock()
    post_tx_queue.register_operation(
        lambda: events.append(['queued by the start', task_ex_id]))


class Spec(object):
    # Mistral's WorkflowSpec, as far as the patch reads it.
    def get_name(self):
        if 'other' in sys.argv[1:]:
            return 'user_workflow'
        return 'heat_stack_0a1b'


def starter(task_ex_id):
    # What Mistral's dispatcher queues for each task it creates.
    return lambda: client.start_task(task_ex_id, True, False, None, False,
                                     False, wf_spec=Spec())


def after_starts():
    # Queued behind the starts; queues one of its own, which needs the
    # runner's queue that the local start_task replaces and clears.
    events.append(['after starts'])
    post_tx_queue.register_operation(last)


def last():
    events.append(['last'])
    done.set()


@post_tx_queue.run
def complete_a_task():
    # The completing transaction: three tasks made ready, work after them.
    for task_ex_id in ('task-1', 'task-2', 'task-3'):
        post_tx_queue.register_operation(starter(task_ex_id))
    post_tx_queue.register_operation(after_starts)


with mock.patch.object(clients.auth_ctx, 'ctx', return_value='ctx'), \
        mock.patch.object(default_engine.DefaultEngine, 'start_task',
                          start_task):
    complete_a_task()
    finished = done.wait(10)
    # Outside a post-commit queue runner: always over RPC.
    starter('task-outside')()

print(json.dumps({
    'incompatibility': local_task_start.PATCH.incompatibility(),
    'installed': installed,
    'installed_again': local_task_start.PATCH.install(),
    'lean_kept': lean_start_task.PATCH.install(),
    'finished': finished,
    'events': events,
}))
