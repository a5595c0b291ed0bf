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

"""Stopped traversals end their Mistral executions (cancel, delete, failure).

Mistral and the database are mocks here; the functional tests in
tests/functional/test_stopping.py check the same against the real cloud.
"""

import json
from unittest import mock

import fixtures
from heat.engine import worker as heat_worker

from heat_mistral_engine.heat.patches import convergence
from heat_mistral_engine.heat.patches import heat_release
from heat_mistral_engine.heat.clients import mistral_api as mistral_client
from heat_mistral_engine.heat.node import runner as node_runner
from heat_mistral_engine.heat.traversal import executions
from heat_mistral_engine import protocol
from tests.unit import base


def execution(ex_id, trav):
    return mock.Mock(id=ex_id, input=json.dumps({'traversal': trav}))


class StopExecutionTest(base.TestCase):
    """What heat-engine sends to Mistral's PUT /executions/<id>."""

    def setUp(self):
        super().setUp()
        self.conf.config(group='mistral_scheduler',
                         mistral_url='http://127.0.0.1:1/v2')
        self.service = mistral_client.MistralService()
        self.service._client = mock.Mock()

    def test_reason_becomes_state_info(self):
        self.service.stop_execution('e1', 'ERROR', 'Timed out')
        self.service._client.executions._update.assert_called_once_with(
            '/executions/e1', {'state': 'ERROR', 'state_info': 'Timed out'})

    def test_only_ending_states(self):
        self.assertRaises(ValueError, self.service.stop_execution, 'e1',
                          'SUCCESS')

    def test_failure_names_the_execution(self):
        self.service._client.executions._update.side_effect = \
            RuntimeError('boom')
        exc = self.assertRaises(mistral_client.MistralUnavailable,
                                self.service.stop_execution, 'e1')
        self.assertIn('Mistral failed to cancel execution e1', str(exc))
        self.assertIn('failed to cancel execution e1: boom', exc.detail)


class EndExecutionsTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.service = mock.Mock()
        self.service.running_executions.return_value = [
            execution('e1', 't1'), execution('e2', 't2'),
            mock.Mock(id='e3', input='not json')]

    def test_ends_the_selected_traversals_only(self):
        ended = executions.end_executions(
            's1', lambda t: t == 't1', executions.ERROR, 'Timed out',
            service=self.service)
        self.assertEqual(['e1'], ended)
        self.service.running_executions.assert_called_once_with(
            'heat_stack_s1')
        self.service.stop_execution.assert_called_once_with(
            'e1', 'ERROR', 'Timed out')

    def test_stack_without_workflow_has_nothing_to_end(self):
        self.service.running_executions.side_effect = \
            mistral_client.MistralUnavailable('Workflow not found')
        self.assertEqual([], executions.end_executions(
            's1', lambda t: True, executions.CANCELLED, 'x',
            service=self.service))

    def test_quiet_variant_logs_instead_of_raising(self):
        logger = self.useFixture(fixtures.FakeLogger())
        with mock.patch.object(executions, 'end_executions',
                               side_effect=mistral_client.MistralUnavailable(
                                   'Mistral at u failed: down')):
            self.assertEqual([], executions.end_executions_quietly(
                's1', lambda t: True, executions.CANCELLED, 'x'))
        self.assertIn('could not end the Mistral execution', logger.output)
        self.assertIn('down', logger.output)

    def test_withdraw_cancels_the_one_execution_named(self):
        executions.withdraw('s1', 't1', 'e1', service=self.service)
        self.service.running_executions.assert_not_called()
        self.service.stop_execution.assert_called_once_with(
            'e1', 'CANCELLED',
            'Traversal t1 of the stack was superseded while it started')

    def test_withdraw_logs_instead_of_raising(self):
        logger = self.useFixture(fixtures.FakeLogger())
        self.service.stop_execution.side_effect = \
            mistral_client.MistralUnavailable('down')
        executions.withdraw('s1', 't1', 'e1', service=self.service)
        self.assertIn('could not cancel execution e1: down', logger.output)

    def test_a_current_start_cancels_the_other_traversals(self):
        # e3's traversal cannot be read: it is not t1's either.
        self.assertEqual(['e2', 'e3'], executions.supersede(
            's1', 't1', lambda: True, 'Superseded', service=self.service))
        self.assertEqual(
            [mock.call('e2', 'CANCELLED', 'Superseded'),
             mock.call('e3', 'CANCELLED', 'Superseded')],
            self.service.stop_execution.call_args_list)

    def test_a_superseded_start_cancels_nothing(self):
        # The execution of the newer traversal t2 is among those listed:
        # cancelling it would fail the stack's current traversal.
        self.assertIsNone(executions.supersede(
            's1', 't1', lambda: False, 'Superseded', service=self.service))
        self.service.stop_execution.assert_not_called()

    def test_currency_is_checked_after_the_listing(self):
        # A traversal made current (and started) after the check would
        # have its execution listed without its start being seen.
        order = []
        self.service.running_executions.side_effect = \
            lambda name: order.append('list') or []

        def is_current():
            order.append('check')
            return True

        executions.supersede('s1', 't1', is_current, 'x',
                             service=self.service)
        self.assertEqual(['list', 'check'], order)

    def test_stopped_traversals_keep_only_the_current_one(self):
        stack = mock.Mock(id='s1', current_traversal='new1',
                          status_reason='Stack CREATE cancelled')
        child = mock.Mock(id='c1', current_traversal='new2',
                          status_reason='Stack CREATE cancelled')
        calls = []

        def end(stack_id, select, state, reason):
            calls.append((stack_id, [t for t in ('old', 'new1', 'new2')
                                     if select(t)], state, reason))

        with mock.patch.object(executions, 'end_executions_quietly', end), \
                mock.patch.object(executions.stack_objects.Stack,
                                  'get_all_by_root_owner_id',
                                  return_value=[child]):
            executions.traversals_stopped(stack, ['s1', 'c1'])
        self.assertEqual(
            [('s1', ['old', 'new2'], 'CANCELLED', 'Stack CREATE cancelled'),
             ('c1', ['old', 'new1'], 'CANCELLED', 'Stack CREATE cancelled')],
            calls)

    def test_running_stacks_are_the_stack_and_in_progress_children(self):
        stack = mock.Mock(id='s1')
        children = [mock.Mock(id='c1', status='IN_PROGRESS'),
                    mock.Mock(id='c2', status='COMPLETE')]
        with mock.patch.object(executions.stack_objects.Stack,
                               'get_all_by_root_owner_id',
                               return_value=children):
            self.assertEqual(['s1', 'c1'], executions.stacks_running(stack))


class StopTraversalPatchTest(base.TestCase):

    def setUp(self):
        super().setUp()
        for attr in ('start', 'stop_traversal'):
            self.useFixture(fixtures.MonkeyPatch(
                'heat.engine.worker.WorkerService.%s' % attr,
                getattr(heat_worker.WorkerService, attr)))
        self.useFixture(fixtures.MonkeyPatch(
            'heat.engine.stack.Stack._converge_create_or_update',
            convergence.heat_stack.Stack._converge_create_or_update))

    def test_heat_stops_first_then_the_executions_end(self):
        calls = []
        stack = mock.Mock()
        heat_stop = lambda self, stack: calls.append(('heat', stack))  # noqa
        with mock.patch.object(heat_worker.WorkerService, 'stop_traversal',
                               heat_stop):
            convergence.install(base.scheduler(
                stacks_running=lambda st: calls.append('before') or ['s1'],
                traversals_stopped=lambda st, ids: calls.append(
                    ('ended', st, ids))))
            heat_worker.WorkerService.stop_traversal(mock.Mock(), stack)
        self.assertEqual(['before', ('heat', stack), ('ended', stack, ['s1'])],
                         calls)

    def test_changed_signature_is_refused(self):
        with mock.patch.object(heat_worker.WorkerService, 'stop_traversal',
                               lambda self, stack, force: None):
            exc = self.assertRaises(heat_release.IncompatibleHeat,
                                    convergence.check_heat_version)
        self.assertIn('WorkerService.stop_traversal', str(exc))


class FailedStackEndsExecutionTest(base.TestCase):
    """A node that fails the stack without rollback ends the execution."""

    def request(self):
        return protocol.NodeRequest.from_dict(protocol.node_request(
            action_execution_id='a1', stack_id='s1', traversal='t1',
            resource_id=7, is_update=True, data={}, token='tok'))

    def run_failing_node(self, status_after):
        calls = []
        mistral = mock.Mock()
        mistral.complete_action.side_effect = \
            lambda *a, **k: calls.append(('report', k.get('error')))
        runner = node_runner.NodeRunner('engine', mock.Mock(), mistral)
        stack = mock.Mock(FAILED='FAILED')

        def mark_failed(reason):
            stack.status = status_after
            return True

        stack.mark_failed.side_effect = mark_failed
        with mock.patch.object(runner, 'execute',
                               lambda request, grant=None: runner._fail_node(
                                   stack, 'Timed out')), \
                mock.patch.object(executions, 'end_executions_quietly',
                                  lambda *args: calls.append(
                                      ('end',) + args[2:]) or []):
            outcome = runner.run(self.request())
        return outcome, calls

    def test_no_rollback_reports_then_ends_in_error(self):
        outcome, calls = self.run_failing_node('FAILED')
        self.assertTrue(outcome.stack_failed)
        self.assertEqual([('report', 'Timed out'),
                          ('end', 'ERROR', 'Timed out')], calls)

    def test_rollback_leaves_it_to_the_new_traversal(self):
        outcome, calls = self.run_failing_node('IN_PROGRESS')
        self.assertFalse(outcome.stack_failed)
        self.assertEqual([('report', 'Timed out')], calls)

    def test_parked_nodes_timing_out_end_the_execution(self):
        # admission fails the stack for nodes still waiting for a slot.
        runner = node_runner.NodeRunner('engine', mock.Mock(), mock.Mock())
        stack = mock.Mock(id='s1', current_traversal='t1', FAILED='FAILED')

        def mark_failed(reason):
            stack.status, stack.current_traversal = 'FAILED', ''
            return True

        stack.mark_failed.side_effect = mark_failed
        with mock.patch.object(executions, 'traversal_failed') as failed:
            outcome = runner.fail_traversal(stack, 'Timed out')
        self.assertEqual('Timed out', outcome.error)
        failed.assert_called_once_with('s1', 't1', 'Timed out')

    def test_only_the_nodes_own_traversal_is_ended(self):
        with mock.patch.object(executions, 'end_executions_quietly') as end:
            executions.traversal_failed('s1', 't1', 'Timed out')
        (stack_id, select, state, reason), _ = end.call_args
        self.assertEqual(('s1', 'ERROR', 'Timed out'),
                         (stack_id, state, reason))
        self.assertTrue(select('t1'))
        self.assertFalse(select('t2'))
        self.assertFalse(select(None))
