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

"""The stack's completion point: real sync point rows on Heat's test DB."""

from unittest import mock

from heat.engine import stack as heat_stack
from heat.engine import sync_point

from heat_mistral_engine.heat.store import completion as stack_completion
from tests.unit.heat.traversal import test_concurrency_cap as db_case


class Graph:
    """A traversal graph as ``node_guard.TraversalGraph`` presents it."""

    def __init__(self, *roots):
        self._roots = [heat_stack.ConvergenceNode(rid, upd)
                       for rid, upd in roots]

    def roots(self):
        return iter(self._roots)


class RootDoneTest(db_case.DatabaseTestCase):

    def setUp(self):
        super().setUp()
        sync_point.create(self.ctx, self.stack.id, self.traversal, True,
                          self.stack.id)
        self.graph = Graph((1, True), (2, True), (1, False))
        self.stack.mark_complete = mock.Mock()

    def done(self, rid, upd=True, traversal=None, **kw):
        return stack_completion.root_done(
            self.stack, traversal or self.traversal, rid, upd, self.graph,
            **kw)

    def stored(self):
        row = sync_point.get(self.ctx, self.stack.id, self.traversal, True)
        return (row.input_data or {}).get(stack_completion.KEY)

    def test_last_root_marks_the_stack_complete_once(self):
        self.assertFalse(self.done(1))
        self.assertFalse(self.done(1, False))
        self.stack.mark_complete.assert_not_called()
        self.assertTrue(self.done(2))
        self.stack.mark_complete.assert_called_once_with()
        self.assertEqual(['1:1', '1:0', '2:1'], self.stored())

    def test_a_root_reported_again_counts_once(self):
        self.done(1)
        self.done(1)
        self.done(2)
        self.assertEqual(['1:1', '2:1'], self.stored())
        self.stack.mark_complete.assert_not_called()
        self.done(1, False)
        self.assertFalse(self.done(2))
        self.stack.mark_complete.assert_called_once_with()

    def test_a_node_that_is_not_a_root_is_not_counted(self):
        self.assertFalse(self.done(3))
        self.assertFalse(self.done(2, False))
        self.assertIsNone(self.stored())

    def test_lost_write_reads_again_and_keeps_the_winners_entry(self):
        self.done(1)
        real_update = sync_point.update_input_data
        calls = []

        def another_engine_writes_first(cnxt, entity, trav, upd, key,
                                        input_data=None):
            if not calls:
                # Between this caller's read and write, another engine
                # records root (1, False).
                row = sync_point.get(cnxt, entity, trav, upd)
                real_update(cnxt, entity, trav, upd, row.atomic_key,
                            input_data={stack_completion.KEY:
                                        ['1:1', '1:0']})
            calls.append(key)
            return real_update(cnxt, entity, trav, upd, key,
                               input_data=input_data)

        pauses = []
        with mock.patch.object(stack_completion.sync_point,
                               'update_input_data',
                               side_effect=another_engine_writes_first):
            self.assertTrue(self.done(2, sleep=pauses.append))
        self.assertEqual(2, len(calls))
        self.assertEqual(1, len(pauses))
        self.assertLessEqual(pauses[0], stack_completion.PAUSE_STEP)
        self.assertEqual(['1:1', '1:0', '2:1'], self.stored())
        self.stack.mark_complete.assert_called_once_with()

    def test_ended_traversal_counts_nothing(self):
        sync_point.delete_all(self.ctx, self.stack.id, self.traversal)
        self.assertFalse(self.done(1))
        self.assertFalse(self.done(2, traversal='trav-other'))
        self.stack.mark_complete.assert_not_called()

    def test_roots_heat_counted_before_an_upgrade_still_count(self):
        # A traversal started while Heat's check_stack_complete counted.
        row = sync_point.get(self.ctx, self.stack.id, self.traversal, True)
        sync_point.update_input_data(
            self.ctx, self.stack.id, self.traversal, True, row.atomic_key,
            input_data=sync_point.serialize_input_data({
                heat_stack.ConvergenceNode(1, True): None,
                heat_stack.ConvergenceNode(1, False): None}))
        self.assertTrue(self.done(2))
        self.stack.mark_complete.assert_called_once_with()
        self.assertEqual(['1:1', '1:0', '2:1'], self.stored())

    def test_a_single_root_completes_at_once(self):
        self.graph = Graph((7, False))
        self.assertTrue(self.done(7, False))
        self.stack.mark_complete.assert_called_once_with()
