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

"""Run by tests/unit/mistral/patches/test_skip_redundant_queries.py in a
child process: Mistral's options and Heat's clash in one process.

Installs the skip_redundant_queries patch on the real Mistral (database
API on in-memory SQLite), stores a workflow execution with one completed
task, then, in transactions as Mistral's engine runs them, evaluates the
publish of a generated workflow's task (``task()``), ``task()`` of a task
named otherwise, and compare-and-swap state changes, recording the SELECT
statements each sends. Prints one JSON line. Argument: ``disabled`` (the
option off).
"""

import json
import sys

import mistral.config  # noqa: F401  (what makes this a Mistral process)
from oslo_config import cfg
from oslo_db import options as db_options

db_options.set_defaults(cfg.CONF)
cfg.CONF([], project='mistral')
cfg.CONF.set_override('connection', 'sqlite://', group='database')
if 'disabled' in sys.argv[1:]:
    from heat_mistral_engine.mistral import options
    options.register_opts(cfg.CONF)
    cfg.CONF.set_override('skip_redundant_queries', False,
                          group=options.GROUP)

from sqlalchemy import event  # noqa: E402

from mistral import context as auth_ctx  # noqa: E402
from mistral.db.sqlalchemy import base as db_base  # noqa: E402
from mistral.db.v2 import api as db_api  # noqa: E402
from mistral import expressions  # noqa: E402

from heat_mistral_engine.mistral.patches import (  # noqa: E402
    skip_redundant_queries)

installed = skip_redundant_queries.PATCH.install()
db_api.setup_db()
auth_ctx.set_ctx(auth_ctx.MistralContext())
selects = []


@event.listens_for(db_base.get_engine(), 'before_cursor_execute')
def record(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip().upper().startswith('SELECT'):
        # The table and the columns it filters on: enough to tell them apart.
        words = ' '.join(statement.split())
        table = words.split(' FROM ', 1)[1].split(' ')[0]
        where = words.split(' WHERE ', 1)[1] if ' WHERE ' in words else ''
        selects.append('%s WHERE %s' % (table, where.split(' LIMIT')[0]))


with db_api.transaction():
    wf_ex = db_api.create_workflow_execution({
        'name': 'wf', 'state': 'RUNNING', 'spec': {'name': 'wf'},
        'input': {}, 'params': {}, 'context': {}, 'output': {}})
    task_ex = db_api.create_task_execution({
        'name': 'c0000', 'state': 'RUNNING',
        'workflow_execution_id': wf_ex.id, 'workflow_name': 'wf',
        'spec': {'name': 'c0000', 'action': 'heat.run_node'},
        'in_context': {}, 'published': {}, 'runtime_context': {}})
    db_api.create_action_execution({
        'name': 'heat.run_node', 'state': 'SUCCESS', 'spec': {},
        'input': {}, 'runtime_context': {'index': 0}, 'is_sync': False,
        'accepted': True, 'task_execution_id': task_ex.id,
        'output': {'result': {'node': 'RECEIPT'}}})
    wf_ex_id, task_ex_id = wf_ex.id, task_ex.id

PUBLISH = {'node_1': '{{ task().result.node }}'}
SCOPE = {'__task_execution': {'id': task_ex_id, 'name': 'c0000'},
         '__execution': {'id': wf_ex_id}}


def evaluated_or_error(call):
    """What ``call`` returned, or the name of what it raised."""
    try:
        return call()
    except Exception as exc:
        return type(exc).__name__


def counted(call):
    """(what ``call`` returned, the SELECTs it sent)."""
    del selects[:]
    value = call()
    return value, list(selects)


with db_api.transaction():
    # As Task.complete: the completing transaction holds the task (the
    # session's identity map keeps only objects referenced elsewhere).
    completing = db_api.get_task_execution(task_ex_id)
    published, publish_selects = counted(
        lambda: expressions.evaluate_recursively(PUBLISH, SCOPE))
    by_name, by_name_selects = counted(
        lambda: expressions.evaluate('{{ task("c0000").state }}',
                                     dict(SCOPE, __task_execution=None)))
    swapped, swap_selects = counted(
        lambda: db_api.update_task_execution_state(
            id=task_ex_id, cur_state='RUNNING', state='SUCCESS'))
    swapped_state = swapped.state if swapped is not None else None
    same_object = swapped is completing
    stale, _ = counted(
        lambda: db_api.update_task_execution_state(
            id=task_ex_id, cur_state='RUNNING', state='ERROR'))
    wf_swapped, wf_swap_selects = counted(
        lambda: db_api.update_workflow_execution_state(
            id=wf_ex_id, cur_state='RUNNING', state='SUCCESS'))
    wf_swapped_state = wf_swapped.state if wf_swapped is not None else None

# A transaction that never loaded the task: task() queries it.
with db_api.transaction():
    cold, cold_selects = counted(
        lambda: expressions.evaluate_recursively(PUBLISH, SCOPE))

# The transaction holds the task, but the caller is another project (not
# an admin): Mistral's query would not return it, so task() queries and
# finds nothing, as on an unpatched Mistral.
with db_api.transaction():
    held = db_api.get_task_execution(task_ex_id)
    auth_ctx.set_ctx(auth_ctx.MistralContext(project_id='another-project',
                                             is_admin=False))
    try:
        foreign, foreign_selects = counted(
            lambda: evaluated_or_error(
                lambda: expressions.evaluate('{{ task() }}', SCOPE)))
    finally:
        auth_ctx.set_ctx(auth_ctx.MistralContext())

with db_api.transaction():
    stored = [db_api.get_task_execution(task_ex_id).state,
              db_api.get_workflow_execution(wf_ex_id).state]

print(json.dumps({
    'incompatibility': skip_redundant_queries.PATCH.incompatibility(),
    'installed': installed,
    'installed_again': skip_redundant_queries.PATCH.install(),
    'published': published, 'publish_selects': publish_selects,
    'by_name': by_name, 'by_name_selects': by_name_selects,
    'swapped_state': swapped_state, 'same_object': same_object,
    'swap_selects': swap_selects, 'stale': stale,
    'wf_swapped_state': wf_swapped_state,
    'wf_swap_selects': wf_swap_selects,
    'cold': cold, 'cold_selects': cold_selects,
    'foreign': foreign, 'foreign_selects': foreign_selects,
    'stored': stored,
}))
