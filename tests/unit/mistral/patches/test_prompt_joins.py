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

"""The prompt_joins patch: join tasks checked right after the commit that
may start them.

Mistral's options and Heat's clash in one process, so the checks run in a
child process (tests/unit/mistral_side/check_prompt_joins.py).
"""

import importlib.util

import testtools

from tests.unit import base
from tests.unit import mistral_side

CHECK = 'prompt_joins'
# No prompt check: the joins are left to Mistral's scheduler.
SCHEDULER_ONLY = [['found', ['join-1', 'join-2']], ['later'],
                  ['after checks'], ['last']]


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class PromptJoinsTest(base.TestCase):

    def test_each_join_found_is_checked_after_the_commit(self):
        seen = mistral_side.run_check(CHECK)
        self.assertIsNone(seen['incompatibility'])
        self.assertTrue(seen['installed'])
        self.assertTrue(seen['installed_again'])
        self.assertTrue(seen['finished'])
        # Checked in Mistral's post-commit threads, after the completing
        # function returned and after the operations queued with it
        # (Mistral's scheduled checks); operations queued behind the checks
        # still run and can queue their own (the runner's queue is kept).
        self.assertEqual([['found', ['join-1', 'join-2']], ['later'],
                          ['check', 'join-1', True],
                          ['check', 'join-2', True],
                          ['after checks'], ['last']], seen['events'])

    def test_a_failing_check_stops_nothing_else(self):
        seen = mistral_side.run_check(CHECK, 'failing')
        self.assertTrue(seen['finished'])
        self.assertEqual(['check', 'join-2', True], seen['events'][3])
        self.assertEqual(['last'], seen['events'][-1])

    def test_other_workflows_wait_for_the_scheduler(self):
        # Opt-in, and then only for workflows named like the generated
        # ones: another workflow's joins are left to Mistral's scheduler.
        seen = mistral_side.run_check(CHECK, 'other')
        self.assertTrue(seen['installed'])
        self.assertTrue(seen['finished'])
        self.assertEqual(SCHEDULER_ONLY, seen['events'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = mistral_side.run_check(CHECK, 'disabled')
        self.assertFalse(seen['installed'])
        self.assertFalse(seen['installed_again'])
        self.assertEqual(SCHEDULER_ONLY, seen['events'])
