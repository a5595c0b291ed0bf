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

"""The skip_redundant_queries patch: no queries for what a transaction
already holds.

Mistral's options and Heat's clash in one process, so the checks run in a
child process (tests/unit/mistral_side/check_skip_redundant_queries.py).
"""

import importlib.util

import fixtures
import testtools

from heat_mistral_engine.mistral.patches import skip_redundant_queries
from tests.unit import base
from tests.unit import mistral_side

CHECK = 'skip_redundant_queries'

# Mistral's query of a task execution by id (its secure query: the
# project's rows or shared ones), as the child records it.
TASK_BY_ID = ('task_executions_v2 WHERE (task_executions_v2.project_id IS '
              'NULL OR task_executions_v2.scope = ?) AND '
              'task_executions_v2.id = ?')


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class SkipRedundantQueriesTest(base.TestCase):
    """task() and state changes without the queries the transaction spares.

    The child runs Mistral's own expression evaluation and database API on
    SQLite, where oslo.db re-selects an updated row's key as on MySQL.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seen = mistral_side.run_check(CHECK)
        cls.unpatched = mistral_side.run_check(CHECK, 'disabled')

    def test_installed_once(self):
        self.assertIsNone(self.seen['incompatibility'])
        self.assertTrue(self.seen['installed'])
        self.assertTrue(self.seen['installed_again'])

    def test_publish_reads_the_completing_task_from_the_transaction(self):
        self.assertEqual({'node_1': 'RECEIPT'}, self.seen['published'])
        self.assertNotIn(TASK_BY_ID, self.seen['publish_selects'])
        self.assertIn(TASK_BY_ID, self.unpatched['publish_selects'])
        self.assertEqual(self.unpatched['published'], self.seen['published'])

    def test_a_task_the_transaction_does_not_hold_is_queried(self):
        self.assertEqual({'node_1': 'RECEIPT'}, self.seen['cold'])
        self.assertEqual(self.unpatched['cold_selects'],
                         self.seen['cold_selects'])
        self.assertIn(TASK_BY_ID, self.seen['cold_selects'])

    def test_a_task_another_project_cannot_see_is_not_taken(self):
        # The transaction holds the task, but Mistral's query would not
        # return it to a caller of another project: task() queries, and
        # fails as on an unpatched Mistral (no such task, for that caller).
        self.assertEqual('JinjaEvaluationException',
                         self.unpatched['foreign'])
        self.assertEqual(self.unpatched['foreign'], self.seen['foreign'])
        self.assertIn(TASK_BY_ID.replace('IS NULL', '= ?'),
                      self.seen['foreign_selects'])
        self.assertEqual(self.unpatched['foreign_selects'],
                         self.seen['foreign_selects'])

    def test_a_task_named_in_the_call_is_queried_by_name(self):
        self.assertEqual('RUNNING', self.seen['by_name'])
        self.assertEqual(self.unpatched['by_name_selects'],
                         self.seen['by_name_selects'])

    def test_state_changes_send_no_select(self):
        self.assertEqual([], self.seen['swap_selects'])
        self.assertEqual([], self.seen['wf_swap_selects'])
        self.assertEqual(
            ['task_executions_v2 WHERE task_executions_v2.id = ?'],
            self.unpatched['swap_selects'])
        self.assertEqual(
            ['workflow_executions_v2 WHERE workflow_executions_v2.id = ?'],
            self.unpatched['wf_swap_selects'])

    def test_state_changes_have_mistrals_results(self):
        for seen in (self.seen, self.unpatched):
            self.assertEqual('SUCCESS', seen['swapped_state'])
            self.assertTrue(seen['same_object'])
            # Compare-and-swap: the row is no longer RUNNING.
            self.assertIsNone(seen['stale'])
            self.assertEqual('SUCCESS', seen['wf_swapped_state'])
            self.assertEqual(['SUCCESS', 'SUCCESS'], seen['stored'])

    def test_disabled_option_leaves_mistral_alone(self):
        self.assertFalse(self.unpatched['installed'])
        self.assertFalse(self.unpatched['installed_again'])


class SkipRedundantQueriesCheckTest(base.TestCase):
    """What install refuses without patching Mistral."""

    def test_another_mistral_release_is_refused(self):
        self.useFixture(fixtures.MonkeyPatch(
            'heat_mistral_engine.mistral.patches.base.release_problem',
            lambda: 'Mistral 24.0.0 is not a release this patch was read '
                    'for'))
        self.assertEqual(
            'Mistral 24.0.0 is not a release this patch was read for',
            skip_redundant_queries.PATCH.incompatibility())
