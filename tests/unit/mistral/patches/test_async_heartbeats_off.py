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

"""The async_heartbeats_off patch: no heartbeats for asynchronous actions.

Mistral's options and Heat's clash in one process, so the checks run in a
child process (tests/unit/mistral_side/check_async_heartbeats_off.py).
"""

import importlib.util

import testtools

from tests.unit import base
from tests.unit import mistral_side

CHECK = 'async_heartbeats_off'


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class AsyncHeartbeatsOffTest(base.TestCase):

    def test_only_heat_run_node_runs_without_heartbeats(self):
        seen = mistral_side.run_check(CHECK)
        self.assertIsNone(seen['incompatibility'])
        self.assertTrue(seen['installed_again'])
        # Another package's asynchronous action keeps its heartbeats, as
        # on an unpatched Mistral; so does every synchronous one.
        self.assertEqual([['ax-async'], ['ax-sync']], seen['heartbeats'])
        # Every action still ran; only the synchronous one is completed
        # by the executor (the asynchronous ones by whoever they call).
        self.assertEqual(['run_node', 'async', 'sync'], seen['ran'])
        self.assertEqual(['ax-sync'], seen['completed'])
        self.assertEqual([], seen['left_registered'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = mistral_side.run_check(CHECK, 'disabled')
        self.assertFalse(seen['installed_again'])
        self.assertEqual([['ax-run-node'], ['ax-async'], ['ax-sync']],
                         seen['heartbeats'])
        self.assertEqual(['run_node', 'async', 'sync'], seen['ran'])
