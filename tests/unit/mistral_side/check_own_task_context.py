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

"""Run by tests/unit/mistral/patches/test_own_task_context.py in a child
process: Mistral's options and Heat's clash in one process.

Runs Mistral's real engine in this process (as check_user_workflows.py
does: in-process RPC, local executor, in-memory SQLite), then the
workflows of ``WORKFLOWS`` in the variants of ``VARIANTS``: tasks that
read their predecessors' data from the context (as the generated ones did
before), tagged ``workflow.OWN_CONTEXT_TAG`` and with another tag; tasks
that read it with ``task()`` (as the generated ones do), tagged
``workflow.NO_CONTEXT_TAG`` and with another tag. Prints one JSON line:
whether the patch is in place, and per execution its state and output,
and per task its state, published values and the keys of its stored
``in_context``.

Argument ``patched``: ``[heat_mistral_engine] own_task_context`` on;
``upstream``: off (no patch).
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
oslo_messaging.get_transport(cfg.CONF)
cfg.CONF.set_override('transport_url', 'fake:/')
cfg.CONF.set_override('type', 'local', group='executor')
cfg.CONF.set_override('auth_enable', False, group='pecan')
cfg.CONF.set_override('fixed_delay', 0.5, group='scheduler')

from heat_mistral_engine.graph import workflow  # noqa: E402
from heat_mistral_engine.mistral import options  # noqa: E402
from heat_mistral_engine.mistral.patches import (  # noqa: E402
    own_task_context)

options.register_opts(cfg.CONF)
cfg.CONF.set_override('own_task_context', MODE == 'patched',
                      group=options.GROUP)
installed = own_task_context.PATCH.install()

from mistral import context as auth_ctx  # noqa: E402
from mistral.db.v2 import api as db_api  # noqa: E402
from mistral.engine import engine_server  # noqa: E402
from mistral.rpc import base as rpc_base  # noqa: E402
from mistral.rpc import clients as rpc_clients  # noqa: E402
from mistral.services import actions as action_service  # noqa: E402
from mistral.services import workflows as wf_service  # noqa: E402

TIMEOUT = 60
# A value big enough that a copy of it shows.
BIG = 'x' * 1000

# ``%(tags)s`` is the tag list of every task: the generated workflows tag
# each node task; the same definition is also run untagged. ``%(first)s``
# and so on read the variable a task published, as ``READS`` says. A task
# reads only its direct predecessors' variables, as a node task does.
CHAIN = """
version: '2.0'
%(name)s:
  type: direct
  output:
    last: '{{ %(out_last)s }}'
  tasks:
    first:
      action: std.echo output="%(big)s"
      tags: %(tags)s
      publish:
        first: '{{ task().result }}'
      on-success: [second]
    second:
      action: std.echo output="{{ %(first)s | length }}"
      tags: %(tags)s
      publish:
        second: '{{ task().result }}'
      on-success: [third]
    third:
      action: std.echo output="%(big)s"
      tags: %(tags)s
      publish:
        third: '{{ task().result }}'
      on-success: [last]
    last:
      action: std.echo output="{{ %(third)s | length }}"
      tags: %(tags)s
      publish:
        last: '{{ task().result }}'
"""

# Two branches joined: the join task receives both predecessors' data.
JOIN = """
version: '2.0'
%(name)s:
  type: direct
  output:
    joined: '{{ %(out_joined)s }}'
  tasks:
    root:
      action: std.echo output="%(big)s"
      tags: %(tags)s
      publish:
        root: '{{ task().result }}'
      on-success: [left, right]
    left:
      action: std.echo output="left"
      tags: %(tags)s
      publish:
        left: '{{ task().result }}'
      on-success: [joined]
    right:
      action: std.echo output="right"
      tags: %(tags)s
      publish:
        right: '{{ task().result }}'
      on-success: [joined]
    joined:
      join: all
      action: std.echo output="{{ %(left)s }}+{{ %(right)s }}"
      tags: %(tags)s
      publish:
        joined: '{{ task().result }}'
"""

WORKFLOWS = {'chain': CHAIN, 'join': JOIN}
VARIABLES = ('first', 'third', 'last', 'left', 'right', 'joined')
# How a task reads the variable ``%s`` its predecessor of that name
# published: from its context, or from the predecessor's row.
# (Single quotes: the action lines quote their input with double ones.)
READS = {'context': '_.%s', 'task': "task('%s').published.%s"}
# The untagged runs' tasks carry this one (Mistral wants tags non-empty).
OTHER_TAG = 'a-user-tag'
# Variant: (how tasks read, their tag).
VARIANTS = {'tagged': ('context', workflow.OWN_CONTEXT_TAG),
            'untagged': ('context', OTHER_TAG),
            'nocontext': ('task', workflow.NO_CONTEXT_TAG),
            'nocontext_untagged': ('task', OTHER_TAG)}


def reads(how):
    """{variable: expression text reading it} for ``how`` (``READS``).

    ``out_<variable>``: what the workflow's output reads. ``task()`` needs
    a task's scope, so the ``task`` variants output a constant (the
    tasks' published values show what they computed).
    """
    found = {variable: READS[how] % ((variable,) * READS[how].count('%s'))
             for variable in VARIABLES}
    for variable in VARIABLES:
        found['out_' + variable] = (found[variable] if how == 'context'
                                    else '"%s"' % variable)
    return found


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
    """The execution's state and output; per task what it stored."""
    with db_api.transaction():
        wf_ex = db_api.get_workflow_execution(wf_ex_id)
        tasks = {task_ex.name: {
            'state': task_ex.state,
            'published': task_ex.published,
            'in_context': sorted(task_ex.in_context or {}),
        } for task_ex in wf_ex.task_executions}
        return {'state': wf_ex.state, 'output': wf_ex.output,
                'tasks': tasks}


def run(client, name, text):
    wf_service.create_workflows(text)
    wf_ex = client.start_workflow(name, '', None, {}, '')
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
        for shape, text in sorted(WORKFLOWS.items()):
            for variant, (how, tag) in sorted(VARIANTS.items()):
                name = '%s_%s' % (shape, variant)
                values = dict(reads(how), name=name, big=BIG,
                              tags=json.dumps([tag]))
                results[name] = run(client, name, text % values)
    finally:
        service.stop(True)
    print(json.dumps({'installed': installed, 'results': results},
                     sort_keys=True))
    sys.stdout.flush()
    # Mistral's engine leaves threads behind that keep a process alive
    # after its server stopped; this one has said all it had to.
    os._exit(0)


main()
