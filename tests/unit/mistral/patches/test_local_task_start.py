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

"""The local_task_start patch: the first task of a commit started in-
process.

Mistral's options and Heat's clash in one process, so the checks run in a
child process (tests/unit/mistral_side/check_local_task_start.py).
"""

import importlib.util

import testtools

from tests.unit import base
from tests.unit import mistral_side

CHECK = 'local_task_start'
# Every start sent over RPC, as on an unpatched Mistral.
ALL_OVER_RPC = [['cast', 'task-1', []], ['cast', 'task-2', []],
                ['cast', 'task-3', []], ['after starts'], ['last'],
                ['cast', 'task-outside', []]]


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class LocalTaskStartTest(base.TestCase):

    @staticmethod
    def without_threads_own(events):
        """The events of the queue runner, in its order.

        What the local start queues runs in a thread of its own, so its
        place among the runner's events is not fixed.
        """
        return [e for e in events if e[0] != 'queued by the start']

    def test_first_task_of_a_commit_starts_here_the_rest_over_rpc(self):
        seen = mistral_side.run_check(CHECK)
        self.assertIsNone(seen['incompatibility'])
        self.assertTrue(seen['installed'])
        self.assertTrue(seen['installed_again'])
        self.assertTrue(seen['lean_kept'])
        self.assertTrue(seen['finished'])
        # The casts still leave out the workflow spec (lean_start_task);
        # operations queued behind the local start run and can queue
        # their own (the runner's queue is kept); outside a queue runner
        # start_task is sent over RPC.
        self.assertEqual([['here', 'task-1', True],
                          ['cast', 'task-2', []], ['cast', 'task-3', []],
                          ['after starts'], ['last'],
                          ['cast', 'task-outside', []]],
                         self.without_threads_own(seen['events']))
        # The started task's own post-commit work ran.
        self.assertIn(['queued by the start', 'task-1'], seen['events'])

    def test_database_deadlock_is_retried(self):
        seen = mistral_side.run_check(CHECK, 'deadlock')
        self.assertTrue(seen['finished'])
        self.assertEqual([['here', 'task-1', True]] * 2,
                         seen['events'][:2])
        self.assertEqual(1, seen['events'].count(
            ['queued by the start', 'task-1']))

    def test_a_failing_start_stops_nothing_else(self):
        seen = mistral_side.run_check(CHECK, 'failing')
        self.assertTrue(seen['finished'])
        self.assertEqual([['here', 'task-1', True],
                          ['cast', 'task-2', []], ['cast', 'task-3', []],
                          ['after starts'], ['last'],
                          ['cast', 'task-outside', []]], seen['events'])

    def test_other_workflows_start_every_task_over_rpc(self):
        # Opt-in, and then only for workflows named like the generated
        # ones: another workflow's tasks go over RPC as without the patch.
        seen = mistral_side.run_check(CHECK, 'other')
        self.assertTrue(seen['installed'])
        self.assertTrue(seen['finished'])
        self.assertEqual(ALL_OVER_RPC, seen['events'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = mistral_side.run_check(CHECK, 'disabled')
        self.assertFalse(seen['installed'])
        self.assertFalse(seen['installed_again'])
        self.assertEqual(ALL_OVER_RPC, seen['events'])
