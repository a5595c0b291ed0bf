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

"""Heat's side of operator hooks: reports, plans and the message format."""

import types
from unittest import mock

import testtools

from heat_mistral_engine.heat.operator_hooks import hook_plan
from heat_mistral_engine.heat.node import hook_proofs
from heat_mistral_engine.heat.node import hook_reports
from heat_mistral_engine import protocol
from tests.unit import base


def report(**fields):
    values = dict(stack_id='s', traversal='t', token='tok', resource_id=3,
                  is_update=True)
    values.update(fields)
    return protocol.HookReport.from_dict(protocol.hook_report(**values))


class ProtocolTest(testtools.TestCase):

    def test_failure_and_completion(self):
        failed = report(hook='cmdb', when='after', action='create',
                        error='x', details=[{'result': 'boom'}], timeout=5)
        self.assertTrue(failed.failed)
        self.assertEqual([{'result': 'boom'}], failed.details)
        done = report(receipt='sealed')
        self.assertFalse(done.failed)

    def test_refused(self):
        for bad in ({'receipt': None}, {'resource_id': 'x', 'receipt': 'r'},
                    {'timeout': 'soon', 'hook': 'h'}):
            self.assertRaises(protocol.BadNodeRequest, report, **bad)
        message = protocol.hook_report(stack_id='s', traversal='t',
                                       token='k', resource_id=1,
                                       is_update=True, receipt='r')
        message['version'] = 99
        self.assertRaises(protocol.BadNodeRequest,
                          protocol.HookReport.from_dict, message)


class FailureReasonTest(testtools.TestCase):

    def test_the_hook_workflows_own_message(self):
        failed = report(hook='cmdb', when='after', action='create',
                        error='One or more actions had failed.',
                        details=[{'result': 'CMDB refused web'}])
        self.assertEqual('Operator hook cmdb after create of web failed: '
                         'CMDB refused web',
                         hook_reports.failure_reason(failed, 'web'))
        # Without the row's name, the resource id.
        self.assertIn('after create of 3 failed',
                      hook_reports.failure_reason(failed))

    def test_before_hook_result_is_a_dict(self):
        failed = report(hook='q', when='before', action='create',
                        error='Failure caused by ...',
                        details={'result': 'over quota'})
        self.assertIn('failed: over quota',
                      hook_reports.failure_reason(failed))

    def test_timeout(self):
        failed = report(hook='slow', when='after', action='create',
                        timeout=5, details=[],
                        error='Task timed out [timeout(s)=5].')
        self.assertEqual('Operator hook slow after create of web timed out '
                         'after 5 seconds: Task timed out [timeout(s)=5].',
                         hook_reports.failure_reason(failed, 'web'))


class HandleTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.runner = mock.Mock()
        self.stack = mock.Mock(id='s', current_traversal='t',
                               status='IN_PROGRESS', IN_PROGRESS='IN_PROGRESS')
        self.grant = types.SimpleNamespace(context='ctx',
                                           after_hooks={'update:3': []})
        for owner, attr, value in (
                (hook_reports.traversal_token, 'open_token', self.grant),
                (hook_reports.heat_stack.Stack, 'load', self.stack)):
            patcher = mock.patch.object(owner, attr, return_value=value)
            patcher.start()
            self.addCleanup(patcher.stop)
        patcher = mock.patch.object(hook_reports.runner,
                                    'complete_node')
        self.complete = patcher.start()
        self.addCleanup(patcher.stop)

    def test_failure_fails_the_stack(self):
        # The name comes from the resource row; a report's is ignored.
        row = types.SimpleNamespace(name='web')
        with mock.patch.object(hook_proofs.resource_objects.Resource,
                               'get_obj', return_value=row) as get:
            hook_reports.handle(self.runner, report(
                hook='h', when='after', action='create',
                resource_name='x{{ 6*7 }}', details=[{'result': 'no'}]))
        get.assert_called_once_with('ctx', 3, fields=('name',))
        self.runner.fail_traversal.assert_called_once_with(
            self.stack, 'Operator hook h after create of web failed: no')
        self.complete.assert_not_called()

    def test_stale_report_is_ignored(self):
        self.stack.current_traversal = 'newer'
        hook_reports.handle(self.runner, report(hook='h'))
        self.runner.fail_traversal.assert_not_called()

    def test_done_needs_a_valid_receipt(self):
        with mock.patch.object(hook_reports.seal, 'open_receipt'):
            hook_reports.handle(self.runner, report(receipt='r'))
        self.complete.assert_called_once_with(self.stack, 't', 3, True)
        self.complete.reset_mock()
        with mock.patch.object(
                hook_reports.seal, 'open_receipt',
                side_effect=hook_reports.seal.InvalidReceipt('forged')):
            hook_reports.handle(self.runner, report(receipt='r'))
        self.complete.assert_not_called()
        self.runner.fail_traversal.assert_called_once_with(
            self.stack, 'Refused by Heat: forged')

    def test_done_for_a_node_without_hooks_is_refused(self):
        with mock.patch.object(hook_reports.seal, 'open_receipt'):
            hook_reports.handle(self.runner, report(receipt='r',
                                                    resource_id=4))
        self.complete.assert_not_called()


class Rsrc(types.SimpleNamespace):
    INIT, CREATE, UPDATE, DELETE = 'INIT', 'CREATE', 'UPDATE', 'DELETE'
    COMPLETE, FAILED = 'COMPLETE', 'FAILED'


class HappenedTest(testtools.TestCase):

    def rsrc(self, rid=1, action='CREATE', status='COMPLETE', updated=None):
        return Rsrc(id=rid, action=action, status=status,
                    updated_time=updated)

    def test_update_nodes(self):
        before = hook_plan.snapshot(self.rsrc(action='INIT'))
        self.assertEqual('create', hook_plan.happened(
            before, self.rsrc(), True))
        before = hook_plan.snapshot(self.rsrc())
        self.assertIsNone(hook_plan.happened(before, self.rsrc(), True))
        self.assertEqual('update', hook_plan.happened(
            before, self.rsrc(action='UPDATE', updated='now'), True))
        # A replacement is a create of the new resource.
        self.assertEqual('create', hook_plan.happened(
            before, self.rsrc(rid=2), True))
        # No change in an already updated resource: nothing.
        before = hook_plan.snapshot(self.rsrc(action='UPDATE', updated='t'))
        self.assertIsNone(hook_plan.happened(
            before, self.rsrc(action='UPDATE', updated='t'), True))

    def test_cleanup_nodes(self):
        before = hook_plan.snapshot(self.rsrc())
        self.assertEqual('delete', hook_plan.happened(
            before, self.rsrc(action='DELETE'), False))
        self.assertIsNone(hook_plan.happened(before, self.rsrc(), False))
