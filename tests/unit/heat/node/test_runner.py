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

"""The node runner: lock waits, reports to Mistral, oversized node data."""

import types
from unittest import mock

import fixtures
from heat.common import context as heat_context
from heat.engine import dependencies
from heat.engine import stack as heat_stack

from heat_mistral_engine.heat.clients import liveness
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.node import runner as node_runner
from heat_mistral_engine.heat.node import seal
from heat_mistral_engine.heat.patches import stack_row
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine import protocol
from tests.unit import base


class LockWaitTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.runner = node_runner.NodeRunner('me', mock.Mock(),
                                             mistral=mock.Mock())
        self.request = types.SimpleNamespace(traversal='t2', stack_id='s')
        self.stack = mock.Mock(id='s', current_traversal='t2')
        self.stack.has_timed_out.return_value = False
        self.rsrc = mock.Mock(id=5, action='UPDATE', FAILED='FAILED')
        self.rsrc.name = 'member'
        self.patch('time.sleep')
        self.load = self.patch('heat.engine.stack.Stack.load',
                               return_value=self.stack)

    def patch(self, target, **kwargs):
        patcher = mock.patch(target, **kwargs)
        self.addCleanup(patcher.stop)
        return patcher.start()

    def holders(self, *engines):
        rows = [mock.Mock(engine_id=e) for e in engines]
        self.patch('heat.objects.resource.Resource.get_obj',
                   side_effect=rows)
        return rows

    def wait(self, dead=False):
        with mock.patch.object(liveness, 'is_dead', return_value=dead):
            self.runner._wait_for_lock(mock.Mock(), self.rsrc, self.stack,
                                       self.request)

    def test_a_live_holder_is_asked_once_to_give_way(self):
        # As Heat's CheckResource: a nested stack cancels its update.
        self.holders('other', 'other', 'other', None)
        self.wait()
        self.rsrc.handle_preempt.assert_called_once_with()
        self.rsrc.state_set.assert_not_called()

    def test_a_failed_preemption_only_means_a_longer_wait(self):
        self.holders('other', 'other', None)
        self.rsrc.handle_preempt.side_effect = RuntimeError('not cancellable')
        self.wait()
        self.rsrc.handle_preempt.assert_called_once_with()

    def test_a_dead_holders_lock_is_taken_over_without_preemption(self):
        (row,) = self.holders('dead-engine')
        self.wait(dead=True)
        self.rsrc.handle_preempt.assert_not_called()
        row.update_and_save.assert_called_once_with({'engine_id': None})
        self.rsrc.state_set.assert_called_once_with(
            'UPDATE', 'FAILED', 'Worker went down during resource UPDATE')

    def test_a_free_lock_is_not_waited_for(self):
        self.holders(None)
        self.wait()
        self.rsrc.handle_preempt.assert_not_called()


class OwnLostLockTest(base.TestCase):
    """Issue 26: a lock whose commit the server applied as it went away.

    Heat's retry of its compare-and-swap then finds the lock held by this
    very engine and raises UpdateInProgress, although the action never
    started; the node waited for itself until the stack timed out.
    """

    patch = LockWaitTest.patch
    wait = LockWaitTest.wait

    def setUp(self):
        super().setUp()
        self.runner = node_runner.NodeRunner('me', mock.Mock(),
                                             mistral=mock.Mock())
        self.request = types.SimpleNamespace(traversal='t2', stack_id='s')
        self.stack = mock.Mock(id='s', current_traversal='t2')
        self.stack.has_timed_out.return_value = False
        self.patch('heat.engine.stack.Stack.load', return_value=self.stack)
        self.rsrc = mock.Mock(id=5, action='DELETE', status='IN_PROGRESS',
                              IN_PROGRESS='IN_PROGRESS', FAILED='FAILED')
        self.rsrc.name = 'slow'
        self.sleep = self.patch('time.sleep')

    def rows(self, *states):
        """Rows read one after the other: (engine, action, status)."""
        rows = [mock.Mock(engine_id=e, action=a, status=s, atomic_key=k)
                for k, (e, a, s) in enumerate(states, start=3)]
        self.patch('heat.objects.resource.Resource.get_obj',
                   side_effect=rows)
        return rows

    def wait_held(self, *held):
        """Wait; ``held_locks.holds`` answers ``held`` in turn, else False."""
        answers = list(held)
        holds = self.patch(
            'heat_mistral_engine.heat.patches.held_locks.holds',
            side_effect=lambda *key: answers.pop(0) if answers else False)
        self.wait()
        for call in holds.call_args_list:
            self.assertEqual(mock.call('me', self.rsrc.id), call)
        return holds

    def assert_released(self, action, status, values):
        """A lock of 'me' on a row in (action, status) is released at once.

        With a compare-and-swap on the row as read (atomic key 3) writing
        ``values``; nothing pre-empted, no wait.
        """
        (row,) = self.rows(('me', action, status))
        row.select_and_update.return_value = True
        self.wait_held()
        row.select_and_update.assert_called_once_with(
            values, expected_engine_id='me', atomic_key=3)
        self.rsrc.handle_preempt.assert_not_called()
        self.sleep.assert_not_called()

    def test_a_lost_delete_lock_is_released_and_not_waited_for(self):
        # A compare-and-swap on what was read: the lock is the lost
        # commit's, and the state stays DELETE IN_PROGRESS, from which
        # Heat's delete runs (once) when the caller runs it again.
        self.assert_released('DELETE', 'IN_PROGRESS', {'engine_id': None})
        self.rsrc.state_set.assert_not_called()

    def test_a_lost_create_lock_goes_back_to_init(self):
        # From CREATE IN_PROGRESS Heat would update the resource, find
        # nothing to change and never create it.
        self.rsrc.action = 'CREATE'
        self.assert_released(
            'CREATE', 'IN_PROGRESS',
            {'engine_id': None, 'action': 'INIT', 'status': 'COMPLETE'})

    def test_a_lock_this_worker_holds_is_waited_for(self):
        # A node, or one of Heat's native traversals (a restore updates),
        # acts under it: it is waited for until released.
        rows = self.rows(('me', 'DELETE', 'IN_PROGRESS'),
                         ('me', 'DELETE', 'IN_PROGRESS'), (None, None, None))
        self.wait_held(True, True)
        for row in rows:
            row.select_and_update.assert_not_called()
        self.rsrc.handle_preempt.assert_called_once_with()
        self.assertEqual(2, self.sleep.call_count)

    def test_a_lock_no_longer_held_here_is_the_lost_commits(self):
        # The holder released it and a lost commit took it again since.
        rows = self.rows(('me', 'DELETE', 'IN_PROGRESS'),
                         ('me', 'DELETE', 'IN_PROGRESS'))
        rows[1].select_and_update.return_value = True
        self.wait_held(True, False)
        rows[0].select_and_update.assert_not_called()
        rows[1].select_and_update.assert_called_once_with(
            {'engine_id': None}, expected_engine_id='me', atomic_key=4)

    def test_a_lock_of_this_engine_for_another_action_is_waited_for(self):
        # A check or suspend left IN_PROGRESS: not the write Heat tried.
        rows = self.rows(('me', 'CHECK', 'IN_PROGRESS'), (None, None, None))
        self.wait_held()
        rows[0].select_and_update.assert_not_called()
        self.rsrc.handle_preempt.assert_called_once_with()

    def test_an_action_without_a_known_release_is_waited_for(self):
        self.rsrc.action = 'CHECK'
        rows = self.rows(('me', 'CHECK', 'IN_PROGRESS'), (None, None, None))
        self.wait_held()
        rows[0].select_and_update.assert_not_called()

    def test_a_lock_of_this_engine_on_a_finished_row_is_waited_for(self):
        rows = self.rows(('me', 'DELETE', 'COMPLETE'), (None, None, None))
        self.wait_held()
        rows[0].select_and_update.assert_not_called()

    def test_a_lost_lock_that_wrote_no_state_is_released_alone(self):
        # Heat's Resource.lock() before prepare_for_replace: the row keeps
        # the state the run read, and keeps it.
        self.rsrc.action, self.rsrc.status = 'CREATE', 'FAILED'
        self.assert_released('CREATE', 'FAILED', {'engine_id': None})

    def test_a_lock_on_a_row_in_another_state_than_read_is_waited_for(self):
        self.rsrc.action, self.rsrc.status = 'CREATE', 'FAILED'
        rows = self.rows(('me', 'CREATE', 'COMPLETE'), (None, None, None))
        self.wait_held()
        rows[0].select_and_update.assert_not_called()

    def test_a_lost_update_lock_is_released_in_update_in_progress(self):
        # Heat's update, run again from UPDATE IN_PROGRESS, compares the
        # same old and new definitions (test_lost_lock_db).
        self.rsrc.action = 'UPDATE'
        self.assert_released('UPDATE', 'IN_PROGRESS', {'engine_id': None})

    def test_a_row_that_changed_since_it_was_read_is_read_again(self):
        rows = self.rows(('me', 'DELETE', 'IN_PROGRESS'), (None, None, None))
        rows[0].select_and_update.return_value = False
        self.wait_held()
        rows[0].select_and_update.assert_called_once_with(
            {'engine_id': None}, expected_engine_id='me', atomic_key=3)
        self.sleep.assert_not_called()

    def test_a_live_engines_lock_is_never_the_lost_commits(self):
        rows = self.rows(('other', 'DELETE', 'IN_PROGRESS'),
                         (None, None, None))
        self.wait_held()
        rows[0].select_and_update.assert_not_called()
        rows[0].update_and_save.assert_not_called()


class ActLostLockTest(base.TestCase):
    """``_act``: the lost delete lock is released and the delete runs once."""

    def setUp(self):
        super().setUp()
        self.runner = node_runner.NodeRunner('me', mock.Mock(),
                                             mistral=mock.Mock())
        self.request = types.SimpleNamespace(
            traversal='t2', stack_id='s', resource_id=5, is_update=False)
        self.stack = mock.Mock(id='s', current_traversal='t2')
        self.stack.has_timed_out.return_value = False
        self.rsrc = mock.Mock(id=5, action='CREATE', status='COMPLETE',
                              IN_PROGRESS='IN_PROGRESS')
        self.rsrc.name = 'slow'
        for target in ('time.sleep',
                       'heat_mistral_engine.heat.node.fence.check'):
            patcher = mock.patch(target)
            self.addCleanup(patcher.stop)
            patcher.start()
        patcher = mock.patch('heat.engine.stack.Stack.load',
                             return_value=self.stack)
        self.addCleanup(patcher.stop)
        patcher.start()
        self.row = mock.Mock(engine_id='me', action='DELETE',
                             status='IN_PROGRESS', atomic_key=3)
        self.row.select_and_update.return_value = True
        patcher = mock.patch('heat.objects.resource.Resource.get_obj',
                             return_value=self.row)
        self.addCleanup(patcher.stop)
        patcher.start()
        patcher = mock.patch.object(node_runner.held_locks, 'holds',
                                    return_value=False)
        self.addCleanup(patcher.stop)
        self.holds = patcher.start()
        self.actions = 0

    def cleanup(self, rsrc, *args):
        self.actions += 1
        if self.actions == 1:
            # Heat's state_set, then its retried compare-and-swap refused.
            rsrc.action, rsrc.status = 'DELETE', 'IN_PROGRESS'
            raise node_runner.exception.UpdateInProgress(rsrc.name)

    def act(self):
        with mock.patch.object(
                node_runner.check_resource, 'check_resource_cleanup',
                side_effect=self.cleanup), \
                mock.patch.object(self.runner, '_load',
                                  return_value=(self.rsrc, self.stack)):
            return self.runner._act(
                mock.Mock(), self.request, mock.Mock(converge=False),
                self.rsrc, self.stack, {}, mock.Mock(), 'key')

    def test_the_delete_runs_again_once_after_its_lost_lock(self):
        self.assertEqual((self.rsrc, self.stack), self.act())
        self.assertEqual(2, self.actions)
        self.holds.assert_called_once_with('me', 5)
        self.row.select_and_update.assert_called_once_with(
            {'engine_id': None}, expected_engine_id='me', atomic_key=3)

    def test_a_lock_this_worker_holds_is_waited_for(self):
        # A thread of this worker (a node, a native traversal) holds it:
        # it is not taken; the row frees later.
        self.holds.return_value = True
        free = mock.Mock(engine_id=None)
        with mock.patch('heat.objects.resource.Resource.get_obj',
                        side_effect=[self.row, free]):
            self.act()
        self.assertEqual(2, self.actions)
        self.row.select_and_update.assert_not_called()


class NodeRunnerReportTest(base.TestCase):
    """A result Mistral refuses must still end the task."""

    def request(self, completion_topic=None):
        return protocol.NodeRequest.from_dict(protocol.node_request(
            action_execution_id='a1', stack_id='s1', traversal='t1',
            resource_id=7, is_update=True, data={}, token='tok',
            completion_topic=completion_topic))

    def test_refused_success_is_reported_as_error_and_fails_the_stack(self):
        mistral = mock.Mock()
        mistral.complete_action.side_effect = [
            mistral_api.MistralUnavailable('too big'), None]
        runner = node_runner.NodeRunner('engine', mock.Mock(), mistral)
        stack = mock.Mock()
        outcome = node_runner.Outcome(output={'attrs': {}}, stack=stack)
        with mock.patch.object(runner, 'execute', return_value=outcome), \
                mock.patch.object(node_runner.traversal_token,
                                  'open_token'):
            runner.run(self.request(completion_topic='topic-c'))
        first, second = mistral.complete_action.call_args_list
        self.assertEqual({'attrs': {}}, first.kwargs['output'])
        # Both reports offered to Mistral's engines first.
        self.assertEqual(['topic-c', 'topic-c'],
                         [first.kwargs['completion_topic'],
                          second.kwargs['completion_topic']])
        self.assertIn('could not be reported to Mistral (details in '
                      'Heat\'s log, request req-', second.kwargs['error'])
        stack.mark_failed.assert_called_once_with(second.kwargs['error'])

    def test_unreported_reason_holds_no_url(self):
        # Issue 28: the reason showed "Mistral at <internal URL> failed";
        # now the URL and the client's text stay in the log, under the
        # request id the reason gives.
        logged = self.useFixture(fixtures.FakeLogger())
        mistral = mock.Mock()
        down = mistral_api.unavailable(
            'complete action execution a1', 'http://10.0.0.9:8989/v2',
            ConnectionError('Unable to establish connection to '
                            'http://10.0.0.9:8989/v2/action_executions/a1'))
        mistral.complete_action.side_effect = [down, None]
        runner = node_runner.NodeRunner('engine', mock.Mock(), mistral)
        stack = mock.Mock()
        outcome = node_runner.Outcome(output={'attrs': {}}, stack=stack)
        with mock.patch.object(runner, 'execute', return_value=outcome), \
                mock.patch.object(node_runner.traversal_token,
                                  'open_token'):
            runner.run(self.request())
        reason = stack.mark_failed.call_args.args[0]
        self.assertEqual('Resource 7 finished but could not be reported to '
                         'Mistral (details in Heat\'s log, request %s)'
                         % down.request_id, reason)
        self.assertIn('[%s] Mistral at http://10.0.0.9:8989/v2 failed to '
                      'complete action execution a1: Unable to establish '
                      'connection' % down.request_id, logged.output)

    def test_unreported_reason_of_an_unlogged_error_logs_it(self):
        logged = self.useFixture(fixtures.FakeLogger())
        reason = node_runner.unreported_reason(
            self.request(), mistral_api.MistralUnavailable(
                'short', detail='Mistral at http://10.0.0.9/v2 said no'))
        self.assertNotIn('10.0.0.9', reason)
        request_id = reason.rsplit(' ', 1)[1].rstrip(')')
        self.assertIn('[%s] Node 7 of stack s1: Mistral at '
                      'http://10.0.0.9/v2 said no' % request_id,
                      logged.output)

    def test_reported_error_is_not_reported_twice(self):
        mistral = mock.Mock()
        mistral.complete_action.side_effect = (
            mistral_api.MistralUnavailable('down'))
        runner = node_runner.NodeRunner('engine', mock.Mock(), mistral)
        outcome = node_runner.Outcome(error='Resource CREATE failed')
        with mock.patch.object(runner, 'execute', return_value=outcome):
            runner.run(self.request())
        self.assertEqual(1, mistral.complete_action.call_count)

    def run_unexpected_error(self, current_traversal):
        """Run a node whose execution raises; the stack is on a traversal.

        Returns (mistral, stack, outcome).
        """
        mistral = mock.Mock()
        runner = node_runner.NodeRunner('engine', mock.Mock(), mistral)
        stack = mock.Mock(current_traversal=current_traversal)
        with mock.patch.object(runner, 'execute',
                               side_effect=RuntimeError('boom')), \
                mock.patch.object(node_runner.traversal_token,
                                  'open_token'), \
                mock.patch.object(node_runner.claims, 'get',
                                  return_value=None), \
                mock.patch.object(node_runner.claims, 'finish'), \
                mock.patch.object(node_runner.heat_stack.Stack, 'load',
                                  return_value=stack):
            outcome = runner.run(self.request())
        return mistral, stack, outcome

    def test_unexpected_error_fails_stack_and_task(self):
        logged = self.useFixture(fixtures.FakeLogger())
        mistral, stack, outcome = self.run_unexpected_error('t1')
        reason = outcome.error
        # The exception's text (here 'boom'; it can be a client's error
        # with a URL) is logged, never in the reason.
        self.assertRegex(reason, r'^Unexpected error in heat-engine '
                         r'\(details in Heat\'s log, request '
                         r'req-[0-9a-f-]{36}\)$')
        request_id = reason.rsplit(' ', 1)[1].rstrip(')')
        self.assertIn('failed unexpectedly [%s]: boom' % request_id,
                      logged.output)
        stack.mark_failed.assert_called_once_with(reason)
        mistral.complete_action.assert_called_once_with(
            'a1', error=reason, completion_topic=None, node=self.request())

    def test_unexpected_error_of_stale_traversal_leaves_stack(self):
        mistral, stack, _outcome = self.run_unexpected_error('newer')
        stack.mark_failed.assert_not_called()
        mistral.complete_action.assert_called_once()

    def test_events_are_dispatched_inline(self):
        # Heat caps a stack's thread group at 10; nodes must not use it.
        calls = []
        result = node_runner.INLINE_EVENTS.start(
            's1', lambda *a, **k: calls.append((a, k)) or 'done', 1, x=2)
        self.assertEqual('done', result)
        self.assertEqual([((1,), {'x': 2})], calls)


class RefusalReportTest(base.TestCase):
    """Mistral hears of a node only at the node's own action execution."""

    def setUp(self):
        super().setUp()
        self.mistral = mock.Mock()
        self.runner = node_runner.NodeRunner('engine', mock.Mock(),
                                             self.mistral)
        self.logged = self.useFixture(fixtures.FakeLogger())

    @staticmethod
    def request(token='tok'):
        return protocol.NodeRequest.from_dict(protocol.node_request(
            action_execution_id='a1', stack_id='s1', traversal='t1',
            resource_id=7, is_update=True, data={}, token=token))

    @staticmethod
    def sealed():
        cnxt = heat_context.RequestContext(user_id='u', project_id='p')
        return traversal_token.seal(cnxt, 's1', 't1')

    def test_a_request_whose_token_does_not_verify_is_not_answered(self):
        # It may name any action execution: another stack's, a user's.
        for token in ('tok', traversal_token.seal(
                heat_context.RequestContext(), 's2', 't1')):
            outcome = self.runner.run(self.request(token))
            self.assertTrue(outcome.error.startswith(
                'Refused by Heat: the traversal token'), outcome.error)
        self.mistral.complete_action.assert_not_called()
        self.assertIn('[action execution a1, not told]', self.logged.output)

    def test_an_unexpected_error_without_a_verified_token_is_logged(self):
        with mock.patch.object(self.runner, 'execute',
                               side_effect=RuntimeError('boom')):
            outcome = self.runner.run(self.request())
        self.assertIn('Unexpected error in heat-engine', outcome.error)
        self.assertIn('boom', self.logged.output)
        self.mistral.complete_action.assert_not_called()
        self.assertIn('the error is not reported to Mistral action '
                      'execution a1', self.logged.output)

    def test_a_refusal_with_a_verified_token_goes_to_the_node(self):
        request = self.request(self.sealed())
        with mock.patch.object(node_runner.guard, 'admit',
                               side_effect=node_runner.guard.NotAdmitted(
                                   'not a node of traversal t1')):
            self.runner.run(request)
        # With the node: only the node's own action execution takes it.
        self.mistral.complete_action.assert_called_once_with(
            'a1', output=None,
            error='Refused by Heat: not a node of traversal t1',
            completion_topic=None, node=request, check_success=False)

    def test_a_success_for_a_foreign_action_execution_fails_nothing(self):
        # A forged request with a stolen token: the node's own action
        # execution gets the answer from its claim when its request comes.
        self.mistral.complete_action.side_effect = (
            mistral_api.NotTheNodesAction('not the one of resource 7'))
        stack = mock.Mock()
        outcome = node_runner.Outcome(output={'node': 'r'}, stack=stack)
        with mock.patch.object(self.runner, 'execute',
                               return_value=outcome), \
                mock.patch.object(node_runner, 'complete_node') as done:
            self.assertIs(outcome, self.runner.run(self.request()))
        self.mistral.complete_action.assert_called_once()
        stack.mark_failed.assert_not_called()
        done.assert_not_called()
        self.assertIn('not reported to Mistral: not the one of resource 7',
                      self.logged.output)

    def test_a_failed_stack_s_execution_ends_all_the_same(self):
        self.mistral.complete_action.side_effect = (
            mistral_api.NotTheNodesAction('not the one'))
        outcome = node_runner.Outcome(error='Refused by Heat: forged',
                                      stack_failed=True)
        with mock.patch.object(self.runner, 'execute',
                               return_value=outcome), \
                mock.patch.object(node_runner.executions,
                                  'traversal_failed') as ended:
            self.runner.run(self.request(self.sealed()))
        ended.assert_called_once_with('s1', 't1', 'Refused by Heat: forged')
        self.mistral.complete_action.assert_called_once()


class CompletedTraversalTest(base.TestCase):
    """A node of the stack's completed traversal is answered as done.

    A traversal driven again may complete while its new execution runs:
    the new execution's nodes then all ran, and Heat deleted their claims
    with the traversal. They must end SUCCESS without acting, not ERROR.
    """

    def setUp(self):
        super().setUp()
        self.mistral = mock.Mock()
        self.runner = node_runner.NodeRunner('engine', mock.Mock(),
                                             self.mistral)
        self.logged = self.useFixture(fixtures.FakeLogger())
        self.status = 'COMPLETE'
        self.current = 't1'
        self.useFixture(fixtures.MockPatchObject(
            stack_row, 'traversal_state',
            lambda cnxt, stack_id: stack_row.StackState(
                stack_id, self.current, self.status)))
        # 8 (update) requires 7 (update).
        node = heat_stack.ConvergenceNode
        graph = node_runner.guard.TraversalGraph(dependencies.Dependencies(
            edges=[(node(8, True), node(7, True)), (node(7, True), None)]))
        self.useFixture(fixtures.MockPatchObject(
            node_runner.guard.TRAVERSAL_GRAPHS, 'of',
            lambda stack, traversal: graph))
        self.claim = self.useFixture(fixtures.MockPatchObject(
            node_runner.claims, 'claim')).mock
        self.completed = self.useFixture(fixtures.MockPatchObject(
            node_runner, 'complete_node')).mock

    @staticmethod
    def request(resource_id=7, data=None, traversal='t1'):
        cnxt = heat_context.RequestContext(user_id='u', project_id='p')
        return protocol.NodeRequest.from_dict(protocol.node_request(
            action_execution_id='a1', stack_id='s1', traversal=traversal,
            resource_id=resource_id, is_update=True, data=data or {},
            token=traversal_token.seal(cnxt, 's1', traversal)))

    def answer(self):
        self.mistral.complete_action.assert_called_once()
        return self.mistral.complete_action.call_args

    def test_a_node_of_the_completed_traversal_ends_success(self):
        outcome = self.runner.run(self.request())
        self.assertIsNone(outcome.error)
        call = self.answer()
        self.assertIsNone(call.kwargs['error'])
        # Its own receipt, without data: nothing runs after it.
        self.assertIsNone(seal.open_receipt(
            call.kwargs['output']['node'], 's1', 't1', 7, True))
        # Only the node's own action execution takes it.
        self.assertTrue(call.kwargs['check_success'])
        # Nothing acted on, no claim, no completion point.
        self.claim.assert_not_called()
        self.completed.assert_not_called()
        self.assertIn('traversal t1 is already complete; answered as done',
                      self.logged.output)

    def test_its_dependents_need_their_predecessors_receipts(self):
        receipt = seal.seal('s1', 't1', 7, True)
        outcome = self.runner.run(self.request(8, {
            protocol.data_key(7, True): receipt}))
        self.assertIsNone(outcome.error)
        # Missing, or sealed for another traversal: refused, as before.
        for data in ({}, {protocol.data_key(7, True): seal.seal(
                's1', 't0', 7, True)}):
            self.mistral.complete_action.reset_mock()
            outcome = self.runner.run(self.request(8, data))
            self.assertTrue(outcome.error.startswith('Refused by Heat'),
                            outcome.error)
            self.assertIsNotNone(self.answer().kwargs['error'])
        self.claim.assert_not_called()

    def test_a_node_not_in_the_completed_traversal_is_refused(self):
        outcome = self.runner.run(self.request(9))
        self.assertIn('is not a node of traversal t1', outcome.error)

    def test_a_superseded_or_failed_traversal_is_still_stale(self):
        for current, status in (('t2', 'COMPLETE'), ('', 'FAILED')):
            self.current, self.status = current, status
            outcome = self.runner.run(self.request())
            self.assertIn('traversal t1 of stack s1 was superseded',
                          outcome.error)
        self.claim.assert_not_called()

    def test_claims_deleted_while_it_claimed_end_success_once_complete(self):
        # The insert met the earlier run's claim, which the traversal's
        # completion deleted before it was read (test_redrive's
        # mid-create kill left the re-driven execution ERROR so).
        self.status = 'IN_PROGRESS'
        gone = node_runner.claims.Claim(
            state=node_runner.claims.GONE, engine=None,
            action_execution=None,
            error='the traversal ended while the node was claimed again')

        def claim_as_it_completes(*args):
            self.status = 'COMPLETE'
            return gone
        self.claim.side_effect = claim_as_it_completes
        outcome = self.runner.run(self.request())
        self.assertIsNone(outcome.error)
        self.assertIsNone(self.answer().kwargs['error'])
        self.completed.assert_not_called()
        # A traversal superseded meanwhile: its node still ends in error.
        self.mistral.complete_action.reset_mock()
        self.status = 'IN_PROGRESS'

        def claim_as_it_is_replaced(*args):
            self.current = 't2'
            return gone
        self.claim.side_effect = claim_as_it_is_replaced
        outcome = self.runner.run(self.request())
        self.assertIn('traversal t1 of stack s1 was superseded by t2',
                      outcome.error)

    def test_a_node_whose_slots_went_with_the_completion_ends_success(self):
        request = self.request()
        grant = traversal_token.open_token(request.token, 's1', 't1')
        outcome = self.runner.end_unrun(request, 'traversal t1 has ended',
                                        grant)
        self.assertIsNone(outcome.error)
        self.assertIsNone(self.answer().kwargs['error'])
        self.mistral.complete_action.reset_mock()
        self.status = 'IN_PROGRESS'
        outcome = self.runner.end_unrun(request, 'traversal t1 has ended',
                                        grant)
        self.assertEqual('traversal t1 has ended', outcome.error)


class OversizedNodeDataTest(base.TestCase):

    def test_under_the_limit(self):
        self.assertIsNone(node_runner.oversized(
            {'node': 'x' * 900}, {'attrs': {'output': 'x' * 600}}, 1))

    def test_over_the_limit_names_the_largest_attribute(self):
        # The limit applies to what Mistral carries: the sealed receipt.
        reason = node_runner.oversized(
            {'node': 'x' * 3000},
            {'attrs': {'small': 'y', 'output': 'x' * 2000}}, 1)
        self.assertIn('hands 2.9 KiB of sealed node data to its dependents '
                      '(attribute output: 2.0 KiB)', reason)
        self.assertIn('at most 1 KiB per resource ([mistral_scheduler] '
                      'max_node_data_kb)', reason)

    def test_cleanup_receipt_has_no_attributes(self):
        self.assertIn('sealed node data to its dependents;',
                      node_runner.oversized({'node': 'x' * 3000}, None, 1))
