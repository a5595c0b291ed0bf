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

"""The load_execution_data_together patch: a workflow execution's data
columns loaded in one query.

Mistral's options and Heat's clash in one process, so the checks run in a
child process (tests/unit/mistral_side/check_load_execution_data_together.py).
"""

import importlib.util
import re

import fixtures
import testtools

from heat_mistral_engine.mistral.patches import load_execution_data_together
from tests.unit import base
from tests.unit import mistral_side

CHECK = 'load_execution_data_together'


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class LoadExecutionDataTogetherTest(base.TestCase):

    @staticmethod
    def column_loads(read):
        """The SELECTs of ``read`` after the one that loads the row.

        Without column labels: SQLAlchemy 2.0 (the series' constraints)
        writes ``col AS table_col`` where 2.1 writes ``col``.
        """
        return [re.sub(r' AS \w+', '', q.split(' FROM ')[0])
                for q in read['selects'][1:]]

    def test_first_read_loads_input_params_and_context_together(self):
        seen = mistral_side.run_check(CHECK)
        self.assertIsNone(seen['incompatibility'])
        self.assertTrue(seen['installed'])
        self.assertTrue(seen['installed_again'])
        self.assertEqual(
            ['SELECT workflow_executions_v2.input, '
             'workflow_executions_v2.params, workflow_executions_v2.context'],
            self.column_loads(seen['first']))
        self.assertEqual({'params': {'env': {}}, 'context': {'var': 1},
                          'input': {'token': 'T'}},
                         seen['first']['values'])

    def test_spec_stays_on_its_own(self):
        seen = mistral_side.run_check(CHECK)
        self.assertEqual(['SELECT workflow_executions_v2.spec'],
                         self.column_loads(seen['spec']))

    def test_a_column_changed_before_the_load_keeps_its_change(self):
        seen = mistral_side.run_check(CHECK)
        self.assertEqual(
            ['SELECT workflow_executions_v2.input, '
             'workflow_executions_v2.params'],
            self.column_loads(seen['changed']))
        self.assertEqual({'changed': True},
                         seen['changed']['values']['context'])
        self.assertEqual({'context': {'changed': True}}, seen['stored'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = mistral_side.run_check(CHECK, 'disabled')
        self.assertFalse(seen['installed'])
        self.assertFalse(seen['installed_again'])
        self.assertEqual(['SELECT workflow_executions_v2.params',
                          'SELECT workflow_executions_v2.context',
                          'SELECT workflow_executions_v2.input'],
                         self.column_loads(seen['first']))

    def test_a_column_mistral_lacks_is_refused(self):
        seen = mistral_side.run_check(CHECK, 'missing-column')
        self.assertEqual('WorkflowExecution.gone is not a deferred column',
                         seen['incompatibility'])
        self.assertFalse(seen['installed'])
        self.assertEqual(['SELECT workflow_executions_v2.params',
                          'SELECT workflow_executions_v2.context',
                          'SELECT workflow_executions_v2.input'],
                         self.column_loads(seen['first']))


class LoadExecutionDataTogetherCheckTest(base.TestCase):
    """What install refuses without looking at Mistral's models."""

    def test_sqlalchemy_version_outside_the_checked_range(self):
        self.useFixture(fixtures.MonkeyPatch(
            'sqlalchemy.__version__', '3.0.0'))
        self.useFixture(fixtures.MonkeyPatch(
            'heat_mistral_engine.mistral.patches.base.release_problem',
            lambda: None))
        self.assertEqual(
            'SQLAlchemy 3.0.0 is not a release this patch was read for',
            load_execution_data_together.PATCH.incompatibility())
