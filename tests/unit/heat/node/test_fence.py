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


"""Fencing: a run whose claim moved to another engine neither acts nor reports.

Issue 26: an engine taken for dead (frozen, cut off from the database)
whose nodes a watchdog took over must, when it comes back, not start the
resource action again and not report the node, nor fail its stack.
"""

import queue
from unittest import mock

import fixtures
from heat.common import exception
from oslo_db import exception as db_exception

from heat_mistral_engine.heat.node import fence
from heat_mistral_engine.heat.node import runner as node_runner
from heat_mistral_engine.heat.store import claims
from heat_mistral_engine import protocol
from tests.unit import base

AX = '11111111-1111-4111-8111-111111111111'


def request():
    return protocol.NodeRequest.from_dict(protocol.node_request(
        action_execution_id=AX, stack_id='s1', traversal='t1',
        resource_id=4, is_update=True, data={}, token='tok'))


def claim(engine, state=claims.RUNNING, atomic_key=0):
    return claims.Claim(state=state, engine=engine, action_execution=AX,
                        atomic_key=atomic_key)


class CheckTest(base.TestCase):

    def check(self, found, engine='old', key=0, **kw):
        with mock.patch.object(claims, 'get', return_value=found) as get:
            fence.check(mock.Mock(), request(), engine, key, **kw)
        get.assert_called_once()

    def test_the_runs_own_claim_passes(self):
        self.check(claim('old'))

    def test_a_claim_gone_fences_the_start(self):
        # Heat deleted the traversal's sync points: it completed (maybe
        # while this engine was frozen and its node re-run elsewhere),
        # failed or was replaced. Nothing of it may start now.
        exc = self.assertRaises(fence.Fenced, self.check, None)
        self.assertIsNone(exc.owner)
        self.assertIn('claim is gone', str(exc))

    def test_a_claim_of_another_engine_fences(self):
        exc = self.assertRaises(fence.Fenced, self.check,
                                claim('new', claims.ADOPTED, 1))
        self.assertEqual('new', exc.owner)
        self.assertEqual(fence.NOT_STARTED, exc.when)

    def test_a_claim_moved_away_and_back_fences(self):
        # Same engine, another key: not this run's claim any more.
        self.assertRaises(fence.Fenced, self.check, claim('old',
                                                          atomic_key=2))

    def test_a_transient_database_error_is_retried(self):
        slept = []
        read = [db_exception.DBConnectionError(),
                db_exception.DBDeadlock(), claim('old')]
        with mock.patch.object(claims, 'get', side_effect=read):
            fence.check(mock.Mock(), request(), 'old', 0,
                        sleep=slept.append)
        self.assertEqual([fence.READ_RETRY_WAIT] * 2, slept)

    def test_another_error_is_raised_at_once(self):
        with mock.patch.object(claims, 'get',
                               side_effect=[ValueError('bug')]):
            self.assertRaises(ValueError, fence.check, mock.Mock(),
                              request(), 'old', 0, sleep=self.fail)

    def test_after_a_lost_finish_only_another_engine_fences(self):
        cases = ((claim('new', claims.SUCCESS, 3), True),
                 (claim('old', claims.SUCCESS, 1), False),
                 (None, False))
        for found, fenced in cases:
            with mock.patch.object(claims, 'get', return_value=found):
                if fenced:
                    exc = self.assertRaises(
                        fence.Fenced, fence.after_finish, mock.Mock(),
                        request(), 'old')
                    self.assertEqual(fence.DROPPED, exc.when)
                else:
                    fence.after_finish(mock.Mock(), request(), 'old')


class CheckFailureTest(base.TestCase):
    """Before a failure fails the stack: fenced, unless superseded."""

    def check(self, found, superseded, engine='old', key=0):
        asked = []

        def replaced():
            asked.append(True)
            return superseded
        with mock.patch.object(claims, 'get', return_value=found):
            fence.check_failure(mock.Mock(), request(), engine, key,
                                replaced)
        return asked

    def test_the_runs_own_claim_passes_without_reading_the_stack(self):
        self.assertEqual([], self.check(claim('old'), superseded=False))

    def test_a_claim_gone_with_a_replaced_traversal_passes(self):
        # A second update replaced the traversal (and Heat deleted its
        # claims): native Heat's worker still calls mark_failed, which
        # stores nothing but the stack's event.
        self.assertEqual([True], self.check(None, superseded=True))

    def test_a_claim_gone_with_an_ended_traversal_fences(self):
        # Completed or failed, still the stack's current traversal: a
        # failure now would fail a stack that ended without this run.
        exc = self.assertRaises(fence.Fenced, self.check, None,
                                superseded=False)
        self.assertEqual(fence.DROPPED, exc.when)
        self.assertIsNone(exc.owner)

    def test_a_claim_moved_fences_even_when_superseded(self):
        exc = self.assertRaises(fence.Fenced, self.check,
                                claim('new', claims.ADOPTED, 1),
                                superseded=True)
        self.assertEqual('new', exc.owner)


class ActTest(base.TestCase):
    """Each start of the resource action checks the claim first."""

    def setUp(self):
        super().setUp()
        self.runner = node_runner.NodeRunner('old', mock.Mock(),
                                             mistral=mock.Mock())
        self.update = self.useFixture(fixtures.MockPatchObject(
            node_runner.check_resource, 'check_resource_update')).mock
        self.wait = self.useFixture(fixtures.MockPatchObject(
            self.runner, '_wait_for_lock')).mock
        self.stack = mock.Mock(id='s1', current_traversal='t1')

    def act(self, *claims_read):
        with mock.patch.object(claims, 'get',
                               side_effect=list(claims_read)) as get:
            try:
                return self.runner._act(mock.Mock(), request(), mock.Mock(),
                                        mock.Mock(), self.stack, {},
                                        queue.Queue(), 0)
            finally:
                self.reads = get.call_count

    def test_the_normal_path_costs_one_read(self):
        self.act(claim('old'))
        self.update.assert_called_once()
        self.assertEqual(1, self.reads)

    def test_a_moved_claim_does_not_start_the_action(self):
        self.assertRaises(fence.Fenced, self.act,
                          claim('new', claims.ADOPTED, 1))
        self.update.assert_not_called()

    def test_a_replacement_costs_no_second_read(self):
        self.useFixture(fixtures.MockPatchObject(
            self.runner, '_make_replacement', return_value=9))
        self.useFixture(fixtures.MockPatchObject(
            self.runner, '_load', return_value=(mock.Mock(), self.stack)))
        self.update.side_effect = [
            node_runner.resource.UpdateReplace(), None]
        self.act(claim('old'))
        self.assertEqual(2, self.update.call_count)
        self.assertEqual(1, self.reads)

    def test_a_lock_freed_after_a_wait_is_checked_again(self):
        # An earlier traversal held the lock; the wait was long enough
        # for this engine to be taken for dead meanwhile.
        self.useFixture(fixtures.MockPatchObject(
            self.runner, '_load', return_value=(mock.Mock(), self.stack)))
        self.update.side_effect = exception.UpdateInProgress(
            resource_name='r1')
        self.assertRaises(fence.Fenced, self.act, claim('old'),
                          claim('old'), claim('new', claims.ADOPTED, 1))
        self.wait.assert_called_once()
        self.update.assert_called_once()

    def test_a_lock_taken_by_the_new_owner_is_not_waited_for(self):
        # Heat's state_set raises UpdateInProgress when the watchdog took
        # the resource's lock: the run is fenced, not kept waiting for
        # the new owner's whole run, nor started again after it.
        self.update.side_effect = exception.UpdateInProgress(
            resource_name='r1')
        self.assertRaises(fence.Fenced, self.act, claim('old'),
                          claim('new', claims.RUNNING, 2))
        self.update.assert_called_once()
        self.wait.assert_not_called()


class RunTest(base.TestCase):
    """A fenced run: no report, no completion, no failed stack; one line."""

    def setUp(self):
        super().setUp()
        self.mistral = mock.Mock()
        self.runner = node_runner.NodeRunner('old', mock.Mock(),
                                             self.mistral)
        self.grant = mock.Mock(after_hooks=None)
        self.stack = mock.Mock(id='s1', current_traversal='t1')
        self.stack.has_timed_out.return_value = False
        for target, name, value in (
                (node_runner.traversal_token, 'open_token', self.grant),
                (node_runner.guard, 'admit', mock.Mock()),
                (node_runner.heat_stack.Stack, 'load', self.stack)):
            self.useFixture(fixtures.MockPatchObject(target, name,
                                                     return_value=value))
        self.complete = self.useFixture(fixtures.MockPatchObject(
            node_runner, 'complete_node')).mock
        self.logged = self.useFixture(fixtures.FakeLogger())

    def patch(self, target, name, **kw):
        return self.useFixture(fixtures.MockPatchObject(target, name,
                                                        **kw)).mock

    def assert_fenced(self, outcome, when):
        self.assertTrue(outcome.fenced)
        self.mistral.complete_action.assert_not_called()
        self.complete.assert_not_called()
        self.stack.mark_failed.assert_not_called()
        lines = [line for line in self.logged.output.splitlines()
                 if 'fenced' in line]
        self.assertEqual(1, len(lines), self.logged.output)
        for part in ('resource 4 ', 'stack s1 traversal t1',
                     'in engine old', 'taken over by engine new', when,
                     AX):
            self.assertIn(part, lines[0])

    def test_a_result_whose_claim_moved_is_dropped(self):
        self.patch(self.runner, '_execute', return_value=node_runner.Outcome(
            output={'node': 'r'}, stack=self.stack, graph_resource_id=4))
        self.patch(claims, 'claim', return_value=None)
        finish = self.patch(claims, 'finish', return_value=False)
        self.patch(claims, 'get', return_value=claim('new', atomic_key=2))
        outcome = self.runner.run(request())
        # The end was written with this run's key: a compare-and-swap.
        self.assertEqual(claims.FRESH_KEY, finish.call_args.args[3])
        self.assert_fenced(outcome, fence.DROPPED)

    def test_a_lost_finish_of_a_claim_gone_is_reported_as_before(self):
        self.patch(self.runner, '_execute', return_value=node_runner.Outcome(
            output={'node': 'r'}, stack=self.stack, graph_resource_id=4))
        self.patch(claims, 'claim', return_value=None)
        self.patch(claims, 'finish', return_value=False)
        self.patch(claims, 'get', return_value=None)
        outcome = self.runner.run(request())
        self.assertFalse(outcome.fenced)
        self.mistral.complete_action.assert_called_once()
        self.complete.assert_called_once()

    def test_a_failure_after_the_claim_moved_does_not_fail_the_stack(self):
        # The old engine's action ends in an error once it comes back:
        # the new owner's run decides the node.
        rsrc = mock.Mock()
        rsrc.name = 'r1'
        for target, name, value in (
                (self.runner, '_load', (rsrc, self.stack)),
                (node_runner.guard, 'open_predecessors', {}),
                (node_runner.hook_proofs, 'check_before', None),
                (node_runner.hook_plan, 'snapshot', None)):
            self.patch(target, name, return_value=value)
        self.patch(self.runner, '_act', side_effect=exception.ResourceFailure(
            RuntimeError('x'), rsrc, 'CREATE'))
        self.patch(claims, 'claim', return_value=None)
        finish = self.patch(claims, 'finish')
        self.patch(claims, 'get', return_value=claim('new', atomic_key=2))
        outcome = self.runner.run(request())
        finish.assert_not_called()
        self.assert_fenced(outcome, fence.DROPPED)

    def failing_run(self, stack_row):
        """Run a node whose action fails, its claim gone meanwhile."""
        rsrc = mock.Mock()
        rsrc.name = 'member'
        for target, name, value in (
                (self.runner, '_load', (rsrc, self.stack)),
                (node_runner.guard, 'open_predecessors', {}),
                (node_runner.hook_proofs, 'check_before', None),
                (node_runner.hook_plan, 'snapshot', None),
                (node_runner.stack_row, 'traversal_state', stack_row)):
            self.patch(target, name, return_value=value)
        self.patch(self.runner, '_act', side_effect=exception.ResourceFailure(
            RuntimeError('Stack UPDATE cancelled'), rsrc, 'UPDATE'))
        self.patch(claims, 'claim', return_value=None)
        self.patch(claims, 'finish', return_value=False)
        # Gone by the time the action failed (_act, which would have read
        # it before the action, is faked).
        self.patch(claims, 'get', return_value=None)
        self.stack.mark_failed.return_value = False
        return self.runner.run(request())

    def test_a_failure_of_a_replaced_traversal_goes_to_mark_failed(self):
        # update_preempts_nested_update: the first update's node of the
        # nested stack's resource fails after a second update replaced
        # its traversal. Native Heat calls mark_failed (it stores only the
        # stack's UPDATE_FAILED event) and the node's action is answered.
        outcome = self.run_with_current('t2')
        self.assertFalse(outcome.fenced)
        self.stack.mark_failed.assert_called_once()
        reason = self.stack.mark_failed.call_args.args[0]
        self.assertTrue(reason.startswith('Resource UPDATE failed: '))
        self.assertTrue(reason.endswith('Stack UPDATE cancelled'))
        self.mistral.complete_action.assert_called_once()
        self.assertEqual(0, len([line for line in
                                 self.logged.output.splitlines()
                                 if 'fenced' in line]))

    def test_a_failure_of_an_ended_traversal_is_still_fenced(self):
        outcome = self.run_with_current('t1')
        self.assertTrue(outcome.fenced)
        self.stack.mark_failed.assert_not_called()
        self.mistral.complete_action.assert_not_called()

    def run_with_current(self, traversal):
        return self.failing_run(mock.Mock(current_traversal=traversal))

    def test_a_node_handed_over_here_is_run_on_the_new_key(self):
        execute = self.patch(self.runner, '_execute',
                             return_value=node_runner.Outcome(error='x'))
        self.patch(claims, 'claim',
                   return_value=claim('old', claims.ADOPTED, 5))
        take = self.patch(claims, 'take_over', return_value=6)
        finish = self.patch(claims, 'finish', return_value=True)
        self.runner.run(request())
        take.assert_called_once()
        self.assertEqual(6, execute.call_args.args[3])
        self.assertEqual(6, finish.call_args.args[3])

    def test_a_node_handed_over_and_started_by_another_request_waits(self):
        # The same action execution delivered twice to this engine: one
        # request runs it, the other gets its answer.
        execute = self.patch(self.runner, '_execute')
        self.patch(node_runner, 'CLAIM_POLL_SECONDS', new=0)
        self.patch(claims, 'claim',
                   return_value=claim('old', claims.ADOPTED, 5))
        self.patch(claims, 'take_over', return_value=None)
        self.patch(claims, 'get', side_effect=[
            claim('old', claims.RUNNING, 6),
            claims.Claim(state=claims.SUCCESS, engine='old',
                         action_execution=AX, output={'node': 'r'},
                         atomic_key=7)])
        outcome = self.runner.run(request())
        execute.assert_not_called()
        self.assertEqual({'node': 'r'}, outcome.output)

    def test_an_unexpected_error_under_another_owner_fails_nothing(self):
        self.patch(self.runner, 'execute', side_effect=RuntimeError('boom'))
        finish = self.patch(claims, 'finish')
        self.patch(claims, 'get', return_value=claim('new', atomic_key=2))
        outcome = self.runner.run(request())
        finish.assert_not_called()
        self.assert_fenced(outcome, fence.DROPPED)


class ClaimMoveTest(base.HeatDbTestCase):
    """The claim's moves on Heat's own (sqlite) sync_point table."""

    def setUp(self):
        super().setUp()
        self.request = protocol.NodeRequest.from_dict(protocol.node_request(
            action_execution_id=AX, stack_id=self.stack.id,
            traversal=self.stack.current_traversal, resource_id=4,
            is_update=True, data={}, token='tok'))

    def test_a_handed_over_claim_fences_the_old_run(self):
        self.assertIsNone(claims.claim(self.ctx, self.request, 'old'))
        fence.check(self.ctx, self.request, 'old', claims.FRESH_KEY)
        found = claims.get(self.ctx, self.request)
        self.assertTrue(claims.hand_over(self.ctx, self.request, found,
                                         'new'))
        # A second watchdog that read the same claim loses.
        self.assertFalse(claims.hand_over(self.ctx, self.request, found,
                                          'other'))
        adopted = claims.get(self.ctx, self.request)
        self.assertEqual((claims.ADOPTED, 'new'),
                         (adopted.state, adopted.engine))
        # The old run: no new start, and its end writes nothing.
        self.assertRaises(fence.Fenced, fence.check, self.ctx,
                          self.request, 'old', claims.FRESH_KEY)
        self.assertFalse(claims.finish(self.ctx, self.request, 'old',
                                       claims.FRESH_KEY, output={'x': 1}))
        # The new owner's run starts on the claim and ends it.
        key = claims.take_over(self.ctx, self.request, adopted, 'new')
        self.assertIsNotNone(key)
        fence.check(self.ctx, self.request, 'new', key)
        self.assertTrue(claims.finish(self.ctx, self.request, 'new', key,
                                      output={'y': 2}))
        done = claims.get(self.ctx, self.request)
        self.assertEqual((claims.SUCCESS, 'new', {'y': 2}),
                         (done.state, done.engine, done.output))
        self.assertRaises(fence.Fenced, fence.after_finish, self.ctx,
                          self.request, 'old')
