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

"""Run by tests/unit/mistral/patches/test_async_heartbeats_off.py in a child
process: Mistral's options and Heat's clash in one process. Runs this
package's asynchronous action (heat.run_node, its run replaced), another
asynchronous action and a synchronous one through Mistral's
DefaultExecutor with heartbeats enabled; prints one JSON line with the
heartbeats sent and what the actions did."""

import json
import sys
from unittest import mock

import mistral.config  # noqa: F401  (what makes this a Mistral process)
from mistral_lib import actions as mistral_lib
from oslo_config import cfg

cfg.CONF([], project='mistral')
if sys.argv[1:] == ['disabled']:
    from heat_mistral_engine.mistral import options
    options.register_opts(cfg.CONF)
    cfg.CONF.set_override('async_heartbeats_off', False, group=options.GROUP)

from heat_mistral_engine.mistral import actions  # noqa: E402
from heat_mistral_engine.mistral.patches import (  # noqa: E402
    async_heartbeats_off)
from mistral.executors import default_executor  # noqa: E402
from mistral.services import action_heartbeat_sender  # noqa: E402

ran = []


class Async(mistral_lib.Action):
    def run(self, context):
        ran.append('async')

    def is_sync(self):
        return False


class Sync(mistral_lib.Action):
    def run(self, context):
        ran.append('sync')
        return 'done'


engine = mock.Mock()
with mock.patch.object(default_executor.rpc, 'get_engine_client',
                       return_value=engine), \
        mock.patch.object(action_heartbeat_sender.rpc, 'get_engine_client',
                          return_value=engine), \
        mock.patch.object(action_heartbeat_sender, '_enabled', True), \
        mock.patch.object(default_executor.context, 'ctx',
                          return_value=None), \
        mock.patch.object(default_executor.context,
                          'create_action_context', return_value=None):
    executor = default_executor.DefaultExecutor()
    with mock.patch.object(actions.RunNode, 'run',
                           lambda self, context: ran.append('run_node')):
        run_node = actions.RunNode('stack', 'traversal', 1, True, 'token')
        executor.run_action(run_node, 'ax-run-node', False, {})
    executor.run_action(Async(), 'ax-async', False, {})
    executor.run_action(Sync(), 'ax-sync', False, {}, async_=False)
beats = [list(c.args[0])
         for c in engine.process_action_heartbeats.call_args_list]
completed = [c.args[0] for c in engine.on_action_complete.call_args_list]
print(json.dumps({
    'incompatibility': async_heartbeats_off.PATCH.incompatibility(),
    'installed_again': async_heartbeats_off.PATCH.install(),
    'heartbeats': beats,
    'ran': ran,
    'completed': completed,
    'left_registered': sorted(action_heartbeat_sender._running_actions),
}))
