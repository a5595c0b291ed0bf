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

"""Run by tests/unit/mistral/test_completion_server.py in a child process:
Mistral's options and Heat's clash in one process.

Stores one running action execution in Mistral's real database API
(in-memory SQLite), completes it through the completion server's endpoint
(through the server on oslo.messaging's in-memory transport, once this
counts as an engine process; which calls Mistral's engine), then completes
it again. That action execution is an ad-hoc one, which the endpoint
refuses (it is no node's): for this part only, the endpoint's scope check
is replaced by one that accepts it (``accepted_for``), so that the engine
can be run without a real workflow. Also reports what the action would
advertise and whether this counts as an engine process. Prints one JSON
line. Arguments: ``auth`` (Mistral checks identities), ``disabled`` (the
option off), ``error`` (complete with ERROR).

With the argument ``scope`` it instead stores a node's action execution
of a generated workflow, and look-alikes that differ in one way each
(``VARIANTS``), and prints, for each, what ``node_action_problem`` says
and what the real endpoint does with a completion for the node.
"""

import json
import sys

import mistral.config  # noqa: F401  (what makes this a Mistral process)
from oslo_config import cfg
from oslo_db import options as db_options

db_options.set_defaults(cfg.CONF)
cfg.CONF([], project='mistral')
# In memory: Mistral's default is a file in the working directory.
cfg.CONF.set_override('connection', 'sqlite://', group='database')
# Mistral's default is true; a Mistral without Keystone sets it false.
cfg.CONF.set_override('auth_enable', 'auth' in sys.argv[1:], group='pecan')
from heat_mistral_engine.mistral import options  # noqa: E402
options.register_opts(cfg.CONF)
cfg.CONF.set_override('transport_url', 'fake:/', group=options.GROUP)
if 'disabled' in sys.argv[1:]:
    cfg.CONF.set_override('direct_completions', False, group=options.GROUP)

import oslo_messaging  # noqa: E402

from mistral import context as auth_ctx  # noqa: E402
from mistral.db.v2 import api as db_api  # noqa: E402
from mistral.rpc import base as rpc_base  # noqa: E402
from mistral.scheduler import base as scheduler_base  # noqa: E402

from heat_mistral_engine.mistral import completion_server  # noqa: E402
from heat_mistral_engine.mistral.patches import (  # noqa: E402
    direct_completions)
from heat_mistral_engine.mistral import heat_rpc  # noqa: E402
from heat_mistral_engine import protocol  # noqa: E402

NODE = {'stack_id': 's1', 'traversal': 't1', 'resource_id': 4,
        'is_update': True}
# name: (workflow name, namespace, project, task?, action, input changes)
VARIANTS = {
    'own': ('heat_stack_s1', 't1', None, True, 'heat.run_node', {}),
    'ad_hoc': (None, None, None, False, 'heat.run_node', {}),
    'other_action': ('heat_stack_s1', 't1', None, True, 'std.echo', {}),
    'other_stack': ('heat_stack_s2', 't1', None, True, 'heat.run_node',
                    {'stack_id': 's2'}),
    'other_traversal': ('heat_stack_s1', 't0', None, True, 'heat.run_node',
                        {'traversal': 't0'}),
    'user_workflow': ('my_workflow', '', None, True, 'heat.run_node', {}),
    'other_resource': ('heat_stack_s1', 't1', None, True, 'heat.run_node',
                       {'resource_id': 5}),
    'other_kind': ('heat_stack_s1', 't1', None, True, 'heat.run_node',
                   {'is_update': False}),
    'string_id': ('heat_stack_s1', 't1', None, True, 'heat.run_node',
                  {'resource_id': '4'}),
    'other_project': ('heat_stack_s1', 't1', 'another-project', True,
                      'heat.run_node', {}),
}


def store(workflow, namespace, project, task, action, changes):
    """A RUNNING action execution as described; returns its id."""
    task_id = None
    if task:
        if project:
            # Mistral sets every row's project from the caller's context,
            # which it reads only when it checks identities.
            cfg.CONF.set_override('auth_enable', True, group='pecan')
            auth_ctx.set_ctx(auth_ctx.MistralContext(project_id=project))
        wf_ex = db_api.create_workflow_execution({
            'name': workflow, 'workflow_name': workflow,
            'workflow_namespace': namespace, 'state': 'RUNNING',
            'spec': {}, 'input': {}})
        if project:
            cfg.CONF.set_override('auth_enable', False, group='pecan')
            auth_ctx.set_ctx(auth_ctx.MistralContext())
        task_id = db_api.create_task_execution({
            'name': 'node', 'workflow_execution_id': wf_ex.id,
            'workflow_name': workflow, 'workflow_namespace': namespace,
            'state': 'RUNNING', 'spec': {}}).id
    return db_api.create_action_execution({
        'name': action, 'state': 'RUNNING', 'spec': {},
        'task_execution_id': task_id,
        'input': dict(NODE, token='t', data={}, **changes),
        'runtime_context': {}, 'is_sync': False}).id


def state_of(action_ex_id):
    auth_ctx.set_ctx(auth_ctx.MistralContext())
    try:
        with db_api.transaction():
            return db_api.get_action_execution(action_ex_id).state
    finally:
        auth_ctx.set_ctx(None)


def check_scope():
    db_api.setup_db()
    auth_ctx.set_ctx(auth_ctx.MistralContext())
    with db_api.transaction():
        ids = {name: store(*variant) for name, variant in VARIANTS.items()}
    auth_ctx.set_ctx(None)
    endpoint = completion_server.CompletionEndpoint()
    engine_calls = []
    # The own action execution has no real workflow behind it: the call
    # into Mistral's engine is recorded instead (run by the other check).
    direct_completions.complete_action = (
        lambda *args: engine_calls.append(list(args)) or
        type('AX', (), {'state': args[1]}))
    seen = {}
    for name, action_ex_id in sorted(ids.items()):
        try:
            answer = endpoint.complete_action(
                {}, action_execution_id=action_ex_id, state='ERROR',
                output={'reason': 'Refused by Heat'}, **NODE)
        except oslo_messaging.ExpectedException as exc:
            answer = '%s: %s' % (type(exc.exc_info[1]).__name__,
                                 exc.exc_info[1])
        seen[name] = {
            'problem': direct_completions.node_action_problem(
                action_ex_id, NODE),
            'answer': answer, 'state': state_of(action_ex_id)}
    missing = '00000000-0000-4000-8000-000000000000'
    seen['missing'] = {'problem': direct_completions.node_action_problem(
        missing, NODE)}
    bad_calls = {}
    for name, kwargs in (
            ('no_node', {}), ('not_a_uuid', dict(NODE)),
            ('bad_resource', dict(NODE, resource_id='4'))):
        action_ex_id = 'x' if name == 'not_a_uuid' else ids['own']
        try:
            endpoint.complete_action({}, action_execution_id=action_ex_id,
                                     state='SUCCESS', output={}, **kwargs)
            bad_calls[name] = None
        except ValueError as exc:
            bad_calls[name] = str(exc)
    print(json.dumps({'variants': seen, 'engine_calls': engine_calls,
                      'own_id': ids['own'], 'bad_calls': bad_calls,
                      'version': protocol.COMPLETION_RPC_API_VERSION}))


if 'scope' in sys.argv[1:]:
    check_scope()
    sys.exit(0)


def accepted_for(action_ex_id, node):
    """The scope check of this part: the ad-hoc action execution, as NODE."""
    return None if (action_ex_id, node) == (ADHOC, NODE) else 'not ADHOC'


direct_completions.node_action_problem = accepted_for
db_api.setup_db()
auth_ctx.set_ctx(auth_ctx.MistralContext())
with db_api.transaction():
    action_ex = db_api.create_action_execution({
        'name': 'std.noop', 'state': 'RUNNING', 'spec': {},
        'input': {}, 'runtime_context': {}, 'is_sync': False})
    action_ex_id = ADHOC = action_ex.id
auth_ctx.set_ctx(None)

engine_before = direct_completions.in_engine_process()
served_before = completion_server.start() is not None
# As mistral-api once an operator changed the maintenance mode.
scheduler_base.get_system_scheduler()
engine_scheduler_only = direct_completions.in_engine_process()
# As EngineServer.start.
rpc_base.get_rpc_server_driver()
engine_after = direct_completions.in_engine_process()
server = completion_server.start()
served_after = server is not None
started_once = completion_server.start() is server

endpoint = completion_server.CompletionEndpoint()
state = 'ERROR' if 'error' in sys.argv[1:] else 'SUCCESS'
output = {'reason': 'boom'} if state == 'ERROR' else {'node': 'receipt'}
if server is not None:
    # As heat-engine calls it: Heat's exchange, the advertised topic.
    client = oslo_messaging.get_rpc_client(
        heat_rpc.transport(), oslo_messaging.Target(
            exchange='heat', topic=completion_server.advertised_topic(),
            version='1.1'), timeout=10)
    answer = client.call({}, 'complete_action',
                         action_execution_id=action_ex_id, state=state,
                         output=output, **NODE)
    server.stop()
    server.wait()
else:
    answer = endpoint.complete_action({}, action_execution_id=action_ex_id,
                                      state=state, output=output, **NODE)
try:
    endpoint.complete_action({}, action_execution_id=action_ex_id,
                             state=state, output=output, **NODE)
    again = None
except Exception as exc:
    again = '%s: %s' % (type(exc).__name__, exc.exc_info[1]
                        if hasattr(exc, 'exc_info') else exc)
try:
    endpoint.complete_action({}, action_execution_id=action_ex_id,
                             state='RUNNING', output=None, **NODE)
    bad_state = None
except ValueError as exc:
    bad_state = str(exc)

auth_ctx.set_ctx(auth_ctx.MistralContext())
with db_api.transaction():
    stored = db_api.get_action_execution(action_ex_id)
    stored = {'state': stored.state, 'output': stored.output,
              'state_info': stored.state_info}
print(json.dumps({
    'advertised': completion_server.advertised_topic(),
    'incompatibility': direct_completions.incompatibility(),
    'checks_identities': direct_completions.mistral_checks_identities(),
    'engine_before': engine_before,
    'engine_scheduler_only': engine_scheduler_only,
    'engine_after': engine_after,
    'served_before': served_before,
    'served_after': served_after,
    'started_once': started_once,
    'answer': answer,
    'again': again,
    'bad_state': bad_state,
    'stored': stored,
}))
