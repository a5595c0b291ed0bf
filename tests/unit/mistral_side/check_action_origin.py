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

"""Run by tests/unit/mistral/test_action_origin.py in a child process:
Mistral's options and Heat's clash in one process.

Stores workflow executions and their tasks in Mistral's real database
(SQLite, a temporary file), in the service project or a tenant's, then
runs ``heat.run_node`` and ``heat.hook_report`` through Mistral's own
``DefaultExecutor``, with the execution context Mistral's engine builds
(``RegularAction._prepare_execution_context``): as a task of each of
those executions, and on their own (ad hoc), as Mistral runs an action
that ``openstack action execution run`` asks for. The casts to heat-engine
are recorded instead of sent. Prints one JSON line: per case, what was
cast and the action's error; and how many queries of the workflow
executions' table a chain of node runs cost. Argument ``auth``: Mistral
authenticates (``[pecan] auth_enable``); ``unset``: and
``service_project_id`` is not set.
"""

import json
import os
import sys
import tempfile
from unittest import mock

import mistral.config  # noqa: F401  (what makes this a Mistral process)
from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_db import options as db_options

AUTH = 'auth' in sys.argv[1:]
SERVICE = 'service-project' if AUTH else '<default-project>'
TENANT = 'tenant-project'
STACK = 'c5f36dfd-de7c-406e-addc-51f8191e9e9b'
TRAVERSAL = 'a3c5cc83-63d2-4220-9a4b-1be9dc28aab8'

db_options.set_defaults(cfg.CONF)
cfg.CONF([], project='mistral')
# A file, not sqlite://: the check reads on a connection of its own.
folder = tempfile.mkdtemp()
cfg.CONF.set_override('connection', 'sqlite:///%s' % os.path.join(
    folder, 'mistral.db'), group='database')
cfg.CONF.set_override('auth_enable', AUTH, group='pecan')
from heat_mistral_engine.mistral import options  # noqa: E402
options.register_opts(cfg.CONF)
cfg.CONF.set_override('transport_url', 'fake:/', group=options.GROUP)
if 'unset' not in sys.argv[1:]:
    cfg.CONF.set_override('service_project_id', 'service-project',
                          group=options.GROUP)

import sqlalchemy as sa  # noqa: E402

from mistral import context as auth_ctx  # noqa: E402
from mistral.db.sqlalchemy import base as db_base  # noqa: E402
from mistral.db.v2 import api as db_api  # noqa: E402
from mistral.engine import actions as engine_actions  # noqa: E402
from mistral.executors import default_executor  # noqa: E402

from heat_mistral_engine.mistral import action_origin  # noqa: E402
from heat_mistral_engine.mistral import actions  # noqa: E402
from heat_mistral_engine.mistral import heat_rpc  # noqa: E402
from heat_mistral_engine.mistral import hook_actions  # noqa: E402

db_api.setup_db()


def as_project(project):
    auth_ctx.set_ctx(auth_ctx.MistralContext(
        user_id='u', project_id=project, is_admin=False))


def store(project, name, namespace):
    """A workflow execution of ``project`` with one running task.

    Returns the execution context Mistral's engine hands the task's
    action.
    """
    as_project(project)
    with db_api.transaction():
        wf_ex = db_api.create_workflow_execution({
            'name': name, 'workflow_name': name,
            'workflow_namespace': namespace, 'workflow_id': 'wf',
            'state': 'RUNNING', 'spec': {}, 'params': {}, 'input': {},
            'context': {}, 'runtime_context': {}})
        task_ex = db_api.create_task_execution({
            'name': 'node', 'workflow_execution_id': wf_ex.id,
            'workflow_name': name, 'workflow_namespace': namespace,
            'workflow_id': 'wf', 'state': 'RUNNING', 'spec': {},
            'in_context': {}, 'published': {}, 'runtime_context': {}})
        action_ex = db_api.create_action_execution({
            'name': 'heat.run_node', 'state': 'RUNNING', 'spec': {},
            'input': {}, 'runtime_context': {}, 'is_sync': False,
            'task_execution_id': task_ex.id})
        exec_ctx = engine_actions.RegularAction(
            None, action_ex=action_ex)._prepare_execution_context()
    auth_ctx.set_ctx(None)
    return exec_ctx


def ad_hoc(project):
    """As Mistral runs an action asked for through its API: no task."""
    as_project(project)
    with db_api.transaction():
        action_ex = db_api.create_action_execution({
            'name': 'heat.run_node', 'state': 'RUNNING', 'spec': {},
            'input': {}, 'runtime_context': {}, 'is_sync': False})
        exec_ctx = engine_actions.RegularAction(
            None, action_ex=action_ex)._prepare_execution_context()
    auth_ctx.set_ctx(None)
    return exec_ctx


cast = []
heat_rpc.cast_run_node = lambda request: cast.append(
    ('node', request['resource_id']))
heat_rpc.cast_hook_report = lambda report: cast.append(
    ('report', report['resource_id']))
engine = mock.Mock()


def run(action, exec_ctx, project):
    """Run ``action`` as Mistral's executor does; (cast, error)."""
    del cast[:]
    as_project(project)
    with mock.patch.object(default_executor.rpc, 'get_engine_client',
                           return_value=engine):
        result = default_executor.DefaultExecutor().run_action(
            action, exec_ctx.get('action_execution_id'), False, exec_ctx,
            async_=False)
    auth_ctx.set_ctx(None)
    return {'cast': [list(c) for c in cast],
            'error': result.error if result.is_error() else None}


def node(resource_id=1, stack=STACK, traversal=TRAVERSAL):
    return actions.RunNode(stack, traversal, resource_id, True, 'token')


def report(resource_id=1, stack=STACK, traversal=TRAVERSAL):
    return hook_actions.HookReport(stack, traversal, 'token', resource_id,
                                   True, hook='h', error='boom')


name = 'heat_stack_%s' % STACK
generated = store(SERVICE, name, TRAVERSAL)
cases = {
    'generated': (generated, SERVICE),
    'ad_hoc': (ad_hoc(TENANT), TENANT),
    'ad_hoc_service': (ad_hoc(SERVICE), SERVICE),
    'tenant_workflow': (store(TENANT, name, TRAVERSAL), TENANT),
    'other_workflow': (store(SERVICE, 'mine', TRAVERSAL), SERVICE),
    'other_namespace': (store(SERVICE, name, 'other'), SERVICE),
    'default_namespace': (store(SERVICE, name, ''), SERVICE),
}
found = {}
for case, (exec_ctx, project) in cases.items():
    found[case] = {'node': run(node(), exec_ctx, project),
                   'report': run(report(), exec_ctx, project)}
# The input names another stack or traversal than the execution runs.
found['other_stack'] = {'node': run(node(stack='s2'), generated, SERVICE)}
found['other_traversal'] = {
    'node': run(node(traversal='t2'), generated, SERVICE),
    'report': run(report(traversal='t2'), generated, SERVICE)}
# Mistral's engine continues a workflow under the context of whoever
# completed the task before: the execution's project decides, not that.
found['generated_other_caller'] = {
    'node': run(node(), generated, TENANT)}

# A chain of 100 nodes of one new execution: the queries of the
# workflow executions' table.
chain = store(SERVICE, name, TRAVERSAL)
statements = []


def count(conn, cursor, statement, *args):
    if 'workflow_executions_v2' in statement:
        statements.append(statement)


sa.event.listen(db_base.get_engine(), 'before_cursor_execute', count)
chain_cast = 0
for resource_id in range(100):
    chain_cast += len(run(node(resource_id), chain, SERVICE)['cast'])
sa.event.remove(db_base.get_engine(), 'before_cursor_execute', count)

# Mistral's database restarts: the first two reads of a new execution's
# row lose their connection (as oslo.db reports a MariaDB that went away).
lost = []


def lose(conn, cursor, statement, *args):
    if 'workflow_executions_v2' in statement and len(lost) < 2:
        lost.append(statement)
        raise db_exc.DBConnectionError(Exception('lost connection'))


restarted = store(SERVICE, name, TRAVERSAL)
sa.event.listen(db_base.get_engine(), 'before_cursor_execute', lose)
found['db_restart'] = {'node': run(node(), restarted, SERVICE)}
sa.event.remove(db_base.get_engine(), 'before_cursor_execute', lose)

print(json.dumps({
    'cases': found,
    'chain_cast': chain_cast,
    'chain_queries': len(statements),
    'db_restart_lost': len(lost),
    'cached': action_origin.execution_origin.cache_info().currsize,
}))
