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
it again. Also reports what the action would
advertise and whether this counts as an engine process. Prints one JSON
line. Arguments: ``auth`` (Mistral checks identities), ``disabled`` (the
option off), ``error`` (complete with ERROR).
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

db_api.setup_db()
auth_ctx.set_ctx(auth_ctx.MistralContext())
with db_api.transaction():
    action_ex = db_api.create_action_execution({
        'name': 'std.noop', 'state': 'RUNNING', 'spec': {},
        'input': {}, 'runtime_context': {}, 'is_sync': False})
    action_ex_id = action_ex.id
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
            version='1.0'), timeout=10)
    answer = client.call({}, 'complete_action',
                         action_execution_id=action_ex_id, state=state,
                         output=output)
    server.stop()
    server.wait()
else:
    answer = endpoint.complete_action({}, action_execution_id=action_ex_id,
                                      state=state, output=output)
try:
    endpoint.complete_action({}, action_execution_id=action_ex_id,
                             state=state, output=output)
    again = None
except Exception as exc:
    again = '%s: %s' % (type(exc).__name__, exc.exc_info[1]
                        if hasattr(exc, 'exc_info') else exc)
try:
    endpoint.complete_action({}, action_execution_id=action_ex_id,
                             state='RUNNING', output=None)
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
