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

"""stack_row reads what Heat's stack_get would, on Heat's test database."""

import fixtures
from heat.objects import stack as stack_object

from heat_mistral_engine.heat.patches import stack_row
from tests.unit import base


class TraversalStateTest(base.HeatDbTestCase):

    stack_name = 'stack-row'

    def setUp(self):
        super().setUp()
        self.traversal = self.stack.current_traversal

    def test_the_columns_of_heat_s_row(self):
        self.assertIsNone(stack_row.columns_problem())
        row = stack_object.Stack.get_by_id(self.ctx, self.stack.id)
        self.assertEqual(
            stack_row.StackState(row.id, self.traversal, 'IN_PROGRESS'),
            stack_row.traversal_state(self.ctx, self.stack.id))

    def test_visible_as_to_heat_s_stack_get(self):
        for cnxt, visible in self.visibility_cases():
            self.assertEqual(
                visible,
                stack_object.Stack.get_by_id(cnxt, self.stack.id)
                is not None)
            self.assertEqual(
                visible,
                stack_row.traversal_state(cnxt, self.stack.id) is not None)

    def test_missing_or_deleted_stack_is_none(self):
        self.assertIsNone(stack_row.traversal_state(self.ctx, 'no-such'))
        stack_object.Stack.delete(self.ctx, self.stack.id)
        self.assertIsNone(stack_row.traversal_state(self.ctx, self.stack.id))
        self.ctx.show_deleted = True
        self.assertEqual(self.traversal, stack_row.traversal_state(
            self.ctx, self.stack.id).current_traversal)

    def test_a_missing_column_falls_back_to_heat_s_read(self):
        self.useFixture(fixtures.MockPatchObject(
            stack_row, '_PROBLEM', 'heat.db.models.Stack has no status'))
        self.useFixture(fixtures.MockPatchObject(
            stack_row, '_read', side_effect=AssertionError('not used')))
        self.assertEqual(self.traversal, stack_row.traversal_state(
            self.ctx, self.stack.id).current_traversal)
