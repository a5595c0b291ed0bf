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

"""The mark of traversals Mistral orders, and the orphan check's use of it."""

import datetime

from unittest import mock

from heat.engine import sync_point
from heat.objects import sync_point as sync_point_object

from heat_mistral_engine.heat.recovery import orphans
from heat_mistral_engine.heat.store import traversal_mark
from tests.unit import base


class TraversalMarkTest(base.HeatDbTestCase):

    def setUp(self):
        super().setUp()
        stored = self.stack.current_traversal
        self.traversal = self.stack.current_traversal = 'trav-1'
        self.stack.store(exp_trvsl=stored)
        self.view = orphans.HeatView(self.ctx)

    def test_a_traversal_is_marked_once(self):
        self.assertFalse(traversal_mark.is_marked(self.ctx, self.traversal))
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        self.assertTrue(traversal_mark.is_marked(self.ctx, self.traversal))
        self.assertFalse(traversal_mark.is_marked(self.ctx, 'trav-2'))

    def test_the_mark_goes_with_the_traversals_sync_points(self):
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        # What Heat does when a traversal ends, fails or is replaced.
        sync_point.delete_all(self.ctx, self.stack.id, self.traversal)
        self.assertFalse(traversal_mark.is_marked(self.ctx, self.traversal))

    def test_the_orphan_check_judges_marked_traversals_only(self):
        # Started natively: before the plugin was enabled, by an engine
        # where it is still off, or a native fallback.
        self.assertFalse(self.view.stack(self.stack.id).mistral_driven)
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        self.assertTrue(self.view.stack(self.stack.id).mistral_driven)
        self.stack.action = self.stack.CHECK
        self.stack.store()
        self.assertFalse(self.view.stack(self.stack.id).mistral_driven)

    def test_a_traversal_is_as_old_as_its_mark(self):
        # A delete keeps the stack's updated_at of its last update, long
        # ago: the orphan check would judge the delete's traversal old
        # the moment it starts, before its execution does.
        long_ago = datetime.datetime(2020, 1, 1)
        self.stack.updated_time = long_ago
        self.stack.store()
        self.assertEqual(long_ago, self.view.stack(self.stack.id).updated_at)
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        marked = traversal_mark.marked_at(self.ctx, self.traversal)
        self.assertGreater(marked, long_ago)
        self.assertEqual(marked, self.view.stack(self.stack.id).updated_at)
        self.assertIsNone(traversal_mark.marked_at(self.ctx, 'trav-2'))

    def test_a_stack_not_in_progress_is_not_judged_on_its_mark(self):
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        self.stack.status = self.stack.COMPLETE
        self.stack.store()
        self.assertFalse(self.view.stack(self.stack.id).mistral_driven)

    def test_one_claim_of_a_traversals_failure_wins(self):
        claim = traversal_mark.claim_failure
        self.assertFalse(claim(self.ctx, self.traversal, 'ex-1',
                               'engine-a'))   # not Mistral's
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        self.assertTrue(claim(self.ctx, self.traversal, 'ex-1', 'engine-a'))
        self.assertFalse(claim(self.ctx, self.traversal, 'ex-1',
                               'engine-b'))
        self.assertFalse(claim(self.ctx, self.traversal, 'ex-2',
                               'engine-b'))
        # The winner's retry (after an error) keeps its claim.
        self.assertTrue(claim(self.ctx, self.traversal, 'ex-1', 'engine-a'))
        # Still the traversal's mark.
        self.assertTrue(traversal_mark.is_marked(self.ctx, self.traversal))

    def test_a_claim_read_before_another_one_landed_loses(self):
        # Two engines read the mark at once: the compare-and-swap on its
        # atomic key lets one write it.
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        seen = sync_point.get(self.ctx, traversal_mark.ENTITY,
                              self.traversal, True)
        self.assertTrue(traversal_mark.claim_failure(
            self.ctx, self.traversal, 'ex-1', 'engine-a'))
        with mock.patch.object(sync_point_object.SyncPoint, 'get_by_key',
                               return_value=seen):
            self.assertFalse(traversal_mark.claim_failure(
                self.ctx, self.traversal, 'ex-1', 'engine-b'))

    def test_one_claim_of_a_redrive_wins_and_redrives_are_bounded(self):
        claim = traversal_mark.claim_redrive
        self.assertEqual((traversal_mark.LOST, 0), claim(
            self.ctx, self.traversal, 'ex-1', 'engine-a', 2, 60))
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        self.assertIsNone(traversal_mark.redriven_at(self.ctx,
                                                     self.traversal))
        self.assertEqual((traversal_mark.WON, 1), claim(
            self.ctx, self.traversal, 'ex-1', 'engine-a', 2, 60))
        self.assertIsNotNone(traversal_mark.redriven_at(self.ctx,
                                                        self.traversal))
        # Another engine, same stalled execution: lost; the winner's retry
        # keeps it, as the same re-drive.
        self.assertEqual(traversal_mark.LOST, claim(
            self.ctx, self.traversal, 'ex-1', 'engine-b', 2, 60)[0])
        self.assertEqual((traversal_mark.WON, 1), claim(
            self.ctx, self.traversal, 'ex-1', 'engine-a', 2, 60))
        # The re-driven execution stalls too: the second re-drive, then
        # the bound.
        self.assertEqual((traversal_mark.WON, 2), claim(
            self.ctx, self.traversal, 'ex-2', 'engine-b', 2, 60))
        self.assertEqual((traversal_mark.EXHAUSTED, 2), claim(
            self.ctx, self.traversal, 'ex-3', 'engine-a', 2, 60))
        self.assertTrue(traversal_mark.is_marked(self.ctx, self.traversal))

    def test_an_unfinished_redrive_of_a_dead_claimant_is_taken_over(self):
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        claim = traversal_mark.claim_redrive
        self.assertEqual((traversal_mark.WON, 1), claim(
            self.ctx, self.traversal, 'ex-1', 'engine-a', 3, 60))
        self.assertEqual((traversal_mark.WON, 1), claim(
            self.ctx, self.traversal, 'ex-1', 'engine-b', 3, 0))

    def test_a_redrive_claim_read_before_another_one_landed_loses(self):
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        seen = sync_point.get(self.ctx, traversal_mark.ENTITY,
                              self.traversal, True)
        self.assertEqual(traversal_mark.WON, traversal_mark.claim_redrive(
            self.ctx, self.traversal, 'ex-1', 'engine-a', 3, 60)[0])
        with mock.patch.object(sync_point_object.SyncPoint, 'get_by_key',
                               return_value=seen):
            self.assertEqual(traversal_mark.LOST,
                             traversal_mark.claim_redrive(
                                 self.ctx, self.traversal, 'ex-1',
                                 'engine-b', 3, 60)[0])

    def test_no_redrive_once_the_failure_is_claimed(self):
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        self.assertTrue(traversal_mark.claim_failure(
            self.ctx, self.traversal, 'ex-1', 'engine-a'))
        self.assertEqual(traversal_mark.LOST, traversal_mark.claim_redrive(
            self.ctx, self.traversal, 'ex-1', 'engine-a', 3, 60)[0])
