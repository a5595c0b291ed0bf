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

"""Run by tests/unit/mistral/patches/test_prompt_joins.py in a child
process: Mistral's options and Heat's clash in one process.

Installs the prompt_joins patch on the real Mistral, then completes a task
inside Mistral's post-commit queue runner the way the engine does, with the
join lookup and the join check (``_refresh_task_state``) replaced by
recorders. Prints one JSON line with what ran, in which order, and whether
the checks ran outside the completing thread. The option is opt-in, so the
check turns it on. Arguments: ``disabled`` (the option left off),
``failing`` (every check raises), ``other`` (the joins belong to a workflow
that is not named like a generated one).
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
    cfg.CONF.set_override('prompt_joins', True, group=options.GROUP)

from mistral.engine import post_tx_queue  # noqa: E402
from mistral.engine import task_handler  # noqa: E402

from heat_mistral_engine.mistral.patches import (  # noqa: E402
    prompt_joins)

installed = prompt_joins.PATCH.install()
events = []
done = threading.Event()
completing_thread = []


class TaskEx(object):
    def __init__(self, id):
        self.id = id


@post_tx_queue.run   # as Mistral's _refresh_task_state is
def refresh(task_ex_id):
    events.append(['check', task_ex_id,
                   threading.current_thread() is not completing_thread[0]])
    if 'failing' in sys.argv[1:]:
        raise RuntimeError('database went away')


def later_operation():
    # Queued with the completion, after the lookup: in Mistral, the
    # scheduling of its own checks of the joins found.
    events.append(['later'])
    post_tx_queue.register_operation(after_checks)


def after_checks():
    # Queued behind the prompt checks; queues one of its own, which needs
    # the runner's queue that _refresh_task_state replaces and clears.
    events.append(['after checks'])
    post_tx_queue.register_operation(last)


def last():
    events.append(['last'])
    done.set()


def lookup(self, t_name):
    return [TaskEx('join-1'), TaskEx('join-2')]


@post_tx_queue.run
def complete_a_task(find):
    # What Mistral's _check_affected_tasks does in the completing
    # transaction: look up the joins, queue work for after the commit.
    completing_thread.append(threading.current_thread())
    controller = mock.Mock()   # Mistral's DirectWorkflowController
    controller.wf_spec.get_name.return_value = (
        'user_workflow' if 'other' in sys.argv[1:] else 'heat_stack_0a1b')
    affected = find(controller, 'inbound')
    events.append(['found', [t.id for t in affected]])
    post_tx_queue.register_operation(later_operation)


find = (prompt_joins.refreshing_joins(lookup, prompt_joins.join_refresher())
        if installed else lookup)
with mock.patch.object(task_handler, '_refresh_task_state', refresh):
    complete_a_task(find)
    finished = done.wait(10)

print(json.dumps({
    'incompatibility': prompt_joins.PATCH.incompatibility(),
    'installed': installed,
    'installed_again': prompt_joins.PATCH.install(),
    'finished': finished,
    'events': events,
}))
