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

"""Run by tests/unit/mistral/patches/test_lean_start_task.py in a child
process: Mistral's options and Heat's clash in one process. Prints one JSON
line with what it saw."""

import json
import sys
from unittest import mock

import mistral.config  # noqa: F401  (what makes this a Mistral process)
from oslo_config import cfg

cfg.CONF([], project='mistral')
if sys.argv[1:] == ['disabled']:
    from heat_mistral_engine.mistral import options
    options.register_opts(cfg.CONF)
    cfg.CONF.set_override('lean_start_task', False, group=options.GROUP)

from heat_mistral_engine.mistral import actions  # noqa: E402,F401
from heat_mistral_engine.mistral.patches import (  # noqa: E402
    lean_start_task)
from mistral.rpc import clients  # noqa: E402

client = clients.EngineClient.__new__(clients.EngineClient)
client._client = mock.Mock()
with mock.patch.object(clients.auth_ctx, 'ctx', return_value='ctx'):
    client.start_task('task-1', True, False, None, False, False,
                      wf_spec='THE SPEC', other='kept')
sent = client._client.async_call.call_args
print(json.dumps({
    'incompatibility': lean_start_task.PATCH.incompatibility(),
    'installed_again': lean_start_task.PATCH.install(),
    'method': sent.args[1],
    'task_ex_id': sent.kwargs['task_ex_id'],
    'params': sent.kwargs['params'],
}))
