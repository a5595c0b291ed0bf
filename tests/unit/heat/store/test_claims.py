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

"""A node Heat already ran (or runs) in a traversal is answered, not rerun."""

from unittest import mock

from heat_mistral_engine.heat.store import claims as node_claims
from heat_mistral_engine.heat.node import runner as node_runner
from heat_mistral_engine import protocol
from tests.unit import base

AX1 = '11111111-1111-4111-8111-111111111111'
AX2 = '22222222-2222-4222-8222-222222222222'


def request(ax):
    return protocol.NodeRequest.from_dict(protocol.node_request(
        action_execution_id=ax, stack_id='s', traversal='t', resource_id=4,
        is_update=True, data={}, token='tok'))


def claim(state, ax=AX1, engine='engine-1', **kw):
    return node_claims.Claim(state=state, engine=engine,
                             action_execution=ax, **kw)


class ReplayTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.mistral = mock.Mock()
        self.runner = node_runner.NodeRunner('engine-2', mock.Mock(),
                                             self.mistral)
        self.grant = mock.Mock(after_hooks=None)
        self.stack = mock.Mock()
        for target, name, value in (
                (node_runner.traversal_token, 'open_token', self.grant),
                (node_runner.guard, 'admit', mock.Mock()),
                (node_runner.heat_stack.Stack, 'load', self.stack)):
            patcher = mock.patch.object(target, name, return_value=value)
            patcher.start()
            self.addCleanup(patcher.stop)
        self.execute = self._patch(self.runner, '_execute')
        self.complete = self._patch(node_runner, 'complete_node')
        self._patch(node_runner, 'CLAIM_POLL_SECONDS', new=0)

    def _patch(self, target, name, **kw):
        patcher = mock.patch.object(target, name, **kw)
        self.addCleanup(patcher.stop)
        return patcher.start()

    def test_done_node_gets_the_first_answer_and_is_not_run(self):
        first = claim(node_claims.SUCCESS, output={'node': 'receipt-1'})
        with mock.patch.object(node_claims, 'claim', return_value=first):
            outcome = self.runner.run(request(AX2))
        self.assertEqual({'node': 'receipt-1'}, outcome.output)
        self.mistral.complete_action.assert_called_once_with(
            AX2, output={'node': 'receipt-1'}, error=None,
            completion_topic=None, node=request(AX2),
            check_success=False)
        self.execute.assert_not_called()
        # The completion point counts each root once; the first run may
        # have died before it got there.
        self.complete.assert_called_once_with(self.stack, 't', 4, True)

    def test_same_action_execution_again_is_answered_again(self):
        # The watchdog re-runs a node whose engine died after recording
        # its answer and before reporting it (or Mistral was down until
        # the report's retries ran out): the task must not stay RUNNING.
        first = claim(node_claims.SUCCESS, output={'node': 'receipt-1'})
        with mock.patch.object(node_claims, 'claim', return_value=first):
            outcome = self.runner.run(request(AX1))
        self.mistral.complete_action.assert_called_once_with(
            AX1, output={'node': 'receipt-1'}, error=None,
            completion_topic=None, node=request(AX1),
            check_success=False)
        self.execute.assert_not_called()
        self.complete.assert_called_once()
        self.assertFalse(outcome.stack_failed)

    def test_answer_mistral_had_already_is_not_an_error(self):
        first = claim(node_claims.SUCCESS, output={'node': 'receipt-1'})
        self.mistral.complete_action.side_effect = (
            node_runner.mistral_api.MistralUnavailable(
                'Action %s is already completed' % AX1))
        with mock.patch.object(node_claims, 'claim', return_value=first), \
                mock.patch.object(self.runner, '_fail_node') as fail:
            outcome = self.runner.run(request(AX1))
        fail.assert_not_called()
        self.assertIsNone(outcome.error)
        self.complete.assert_called_once()

    def test_another_action_execution_completed_elsewhere_fails(self):
        # Not this action execution's own earlier answer: someone else
        # completed it, as for a fresh run.
        first = claim(node_claims.SUCCESS, output={'node': 'receipt-1'})
        self.mistral.complete_action.side_effect = (
            node_runner.mistral_api.MistralUnavailable(
                'Action %s is already completed' % AX2))
        with mock.patch.object(node_claims, 'claim', return_value=first), \
                mock.patch.object(self.runner, '_fail_node',
                                  return_value=node_runner.Outcome(
                                      error='x')) as fail:
            self.runner.run(request(AX2))
        fail.assert_called_once()
        self.complete.assert_not_called()

    def test_replay_of_a_node_with_after_hooks_leaves_completion_to_them(self):
        self.grant.after_hooks = {protocol.data_key(4, True): ['h']}
        first = claim(node_claims.SUCCESS, output={'node': 'receipt-1'})
        with mock.patch.object(node_claims, 'claim', return_value=first):
            self.runner.run(request(AX1))
        self.mistral.complete_action.assert_called_once()
        self.complete.assert_not_called()

    def test_failed_node_gets_the_same_error(self):
        first = claim(node_claims.FAILED, error='Resource CREATE failed: x')
        with mock.patch.object(node_claims, 'claim', return_value=first):
            self.runner.run(request(AX2))
        self.mistral.complete_action.assert_called_once_with(
            AX2, output=None, error='Resource CREATE failed: x',
            completion_topic=None, node=request(AX2),
            check_success=False)
        self.execute.assert_not_called()

    def test_running_node_is_waited_for(self):
        running = claim(node_claims.RUNNING)
        done = claim(node_claims.SUCCESS, output={'node': 'r'})
        self._patch(node_runner.liveness, 'is_dead').return_value = False
        with mock.patch.object(node_claims, 'claim', return_value=running), \
                mock.patch.object(node_claims, 'get',
                                  side_effect=[running, running, done]):
            outcome = self.runner.run(request(AX2))
        self.assertEqual({'node': 'r'}, outcome.output)
        self.execute.assert_not_called()

    def run_after_claims_purged(self, in_mistral):
        """Run AX2 while AX1 runs; the claims go before AX2 looks again.

        ``in_mistral``: (state, result) of AX1 as Mistral holds it.
        """
        running = claim(node_claims.RUNNING)
        self._patch(node_runner.liveness, 'is_dead').return_value = False
        self.mistral.action_result.return_value = in_mistral
        with mock.patch.object(node_claims, 'claim', return_value=running), \
                mock.patch.object(node_claims, 'get', return_value=None):
            return self.runner.run(request(AX2))

    def test_answer_after_the_traversal_ended_comes_from_mistral(self):
        # The run waited for completed the stack, and Heat deleted the
        # claims with the traversal, before this request looked again.
        opened = self._patch(node_runner.seal, 'open_receipt')
        outcome = self.run_after_claims_purged(
            ('SUCCESS', {'node': 'receipt-1'}))
        self.mistral.action_result.assert_called_once_with(AX1)
        opened.assert_called_once_with('receipt-1', 's', 't', 4, True)
        self.assertEqual({'node': 'receipt-1'}, outcome.output)
        self.mistral.complete_action.assert_called_once_with(
            AX2, output={'node': 'receipt-1'}, error=None,
            completion_topic=None, node=request(AX2),
            check_success=False)
        self.execute.assert_not_called()

    def test_answer_in_mistral_that_heat_did_not_seal_is_refused(self):
        outcome = self.run_after_claims_purged(('SUCCESS', {'node': 'x'}))
        self.assertIn('Refused by Heat', outcome.error)
        self.mistral.complete_action.assert_called_once_with(
            AX2, output=None, error=outcome.error, completion_topic=None,
            node=request(AX2), check_success=False)
        self.execute.assert_not_called()

    def test_error_answer_in_mistral_is_passed_on(self):
        outcome = self.run_after_claims_purged(
            ('ERROR', {'reason': 'Resource CREATE failed: x'}))
        self.assertEqual('Resource CREATE failed: x', outcome.error)

    def test_node_of_a_dead_engine_is_taken_over_and_run(self):
        running = claim(node_claims.RUNNING, engine='dead-engine')
        self._patch(node_runner.liveness, 'is_dead').return_value = True
        self.execute.return_value = node_runner.Outcome(error='ran')
        with mock.patch.object(node_claims, 'claim', return_value=running), \
                mock.patch.object(node_claims, 'take_over',
                                  return_value=5) as take, \
                mock.patch.object(node_claims, 'finish') as finish:
            self.runner.run(request(AX2))
        take.assert_called_once()
        self.execute.assert_called_once()
        self.assertEqual('ran', finish.call_args.kwargs['error'])
        # The claim is finished with the key the take-over gave it.
        self.assertEqual(5, finish.call_args.args[3])

    def test_first_run_records_its_outcome(self):
        self.execute.return_value = node_runner.Outcome(
            output={'node': 'r'})
        with mock.patch.object(node_claims, 'claim', return_value=None), \
                mock.patch.object(node_claims, 'finish') as finish:
            self.runner.run(request(AX1))
        self.assertEqual({'node': 'r'}, finish.call_args.kwargs['output'])
        self.assertIsNone(finish.call_args.kwargs['error'])
        self.assertEqual(node_claims.FRESH_KEY, finish.call_args.args[3])


class LostCommitTest(base.HeatDbTestCase):
    """A claim whose commit landed but whose connection was lost.

    Heat retries ``sync_point`` writes on a lost connection; the retry of
    a write the server had committed finds that write. Seen with tox -e
    chaos (MariaDB restarted mid-delete): the engine took its own claim
    for an earlier run and waited for itself for ever.
    """

    def setUp(self):
        super().setUp()
        self.request = protocol.NodeRequest.from_dict(protocol.node_request(
            action_execution_id=AX1, stack_id=self.stack.id,
            traversal=self.stack.current_traversal, resource_id=4,
            is_update=False, data={}, token='tok'))

    def lose_after(self, method):
        """``method`` of SyncPoint writes, then fails as Heat's retry does."""
        sync_point = node_claims.sync_point_object.SyncPoint
        original = getattr(sync_point, method)

        def committed_then_lost(*args, **kwargs):
            result = original(*args, **kwargs)
            if method == 'create':
                raise node_claims.db_exception.DBDuplicateEntry()
            return not result
        patcher = mock.patch.object(sync_point, method,
                                    side_effect=committed_then_lost)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_a_claim_that_landed_is_this_engine_s(self):
        self.lose_after('create')
        self.assertIsNone(node_claims.claim(self.ctx, self.request, 'e-1'))

    def test_a_claim_deleted_before_it_was_read_is_gone(self):
        # Another run's claim met by the insert, deleted with the
        # traversal before the read: the caller asks the stack why.
        with mock.patch.object(
                node_claims.sync_point_object.SyncPoint, 'create',
                side_effect=node_claims.db_exception.DBDuplicateEntry()):
            found = node_claims.claim(self.ctx, self.request, 'e-1')
        self.assertEqual((node_claims.GONE, None),
                         (found.state, found.action_execution))

    def test_another_call_s_claim_is_still_an_earlier_run(self):
        self.assertIsNone(node_claims.claim(self.ctx, self.request, 'e-1'))
        found = node_claims.claim(self.ctx, self.request, 'e-1')
        self.assertEqual((node_claims.RUNNING, 'e-1', AX1),
                         (found.state, found.engine, found.action_execution))

    def test_a_take_over_that_landed_is_this_engine_s(self):
        self.assertIsNone(node_claims.claim(self.ctx, self.request, 'dead'))
        found = node_claims.get(self.ctx, self.request)
        self.lose_after('update_input_data')
        self.assertEqual(found.atomic_key + 1, node_claims.take_over(
            self.ctx, self.request, found, 'e-2'))
        self.assertEqual('e-2', node_claims.get(self.ctx,
                                                self.request).engine)

    def test_a_hand_over_that_landed_is_this_engine_s(self):
        # Else the watchdog took the claim for another watchdog's and left
        # the node ADOPTED by its own engine until its next pass.
        self.assertIsNone(node_claims.claim(self.ctx, self.request, 'dead'))
        found = node_claims.get(self.ctx, self.request)
        self.lose_after('update_input_data')
        self.assertTrue(node_claims.hand_over(self.ctx, self.request, found,
                                              'e-2'))
        now = node_claims.get(self.ctx, self.request)
        self.assertEqual((node_claims.ADOPTED, 'e-2'), (now.state,
                                                        now.engine))

    def test_a_finish_that_landed_wrote(self):
        self.assertIsNone(node_claims.claim(self.ctx, self.request, 'e-1'))
        self.lose_after('update_input_data')
        self.assertTrue(node_claims.finish(
            self.ctx, self.request, 'e-1', node_claims.FRESH_KEY,
            output={'node': 'r'}))
        now = node_claims.get(self.ctx, self.request)
        self.assertEqual((node_claims.SUCCESS, {'node': 'r'}),
                         (now.state, now.output))

    def test_a_hand_over_or_finish_that_lost_the_race_did_not(self):
        self.assertIsNone(node_claims.claim(self.ctx, self.request, 'dead'))
        found = node_claims.get(self.ctx, self.request)
        self.assertTrue(node_claims.hand_over(self.ctx, self.request, found,
                                              'e-3'))
        self.assertFalse(node_claims.hand_over(self.ctx, self.request,
                                               found, 'e-2'))
        self.assertFalse(node_claims.finish(
            self.ctx, self.request, 'dead', found.atomic_key, error='x'))
        self.assertEqual('e-3', node_claims.get(self.ctx,
                                                self.request).engine)

    def test_a_take_over_that_lost_the_race_is_not(self):
        self.assertIsNone(node_claims.claim(self.ctx, self.request, 'dead'))
        found = node_claims.get(self.ctx, self.request)
        self.assertIsNotNone(node_claims.take_over(self.ctx, self.request,
                                                   found, 'e-3'))
        self.assertIsNone(node_claims.take_over(self.ctx, self.request,
                                                found, 'e-2'))
