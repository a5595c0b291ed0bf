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


"""The parity suite's wait for a stack to settle (tests/parity/dsl).

Native Heat stores ``<action>_FAILED`` before it starts the rollback of a
failed traversal; a wait that took that instant for the outcome compared a
transient state (``create_fails_rollback`` flapped on it).
"""

from unittest import mock

import fixtures
from heatclient.v1 import stacks

from tests.parity import dsl
from tests.unit import base


def stack(status, disable_rollback=False):
    return stacks.Stack(None, {
        'id': 'sid', 'stack_name': 's', 'stack_status': status,
        'disable_rollback': disable_rollback,
        'creation_time': 't0', 'updated_time': None})


class Clock(object):
    """time.time and time.sleep: a sleep only moves the clock on."""

    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class WaitStackTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = Clock()
        self.useFixture(fixtures.MockPatchObject(dsl.time, 'time',
                                                 self.clock.time))
        self.useFixture(fixtures.MockPatchObject(dsl.time, 'sleep',
                                                 self.clock.sleep))

    def runner(self, statuses):
        """A Runner whose stack shows ``statuses`` in turn, then the last.

        Returns the runner and the list of polls' statuses (what it read).
        """
        runner = dsl.Runner.__new__(dsl.Runner)
        runner.cloud = mock.Mock(label='native')
        runner.record = dsl.Record()
        runner.record.stack_name = 's'
        runner.mid_action_since = None
        runner.resources = mock.Mock(return_value={})
        shown = list(statuses)
        polls = []

        def get_stack():
            found = shown.pop(0) if len(shown) > 1 else shown[0]
            polls.append(found.stack_status)
            return found
        runner.get_stack = get_stack
        return runner, polls

    def test_failed_then_rollback_waits_for_the_rollback(self):
        runner, polls = self.runner([
            stack('CREATE_IN_PROGRESS'), stack('CREATE_FAILED'),
            stack('CREATE_FAILED'), stack('ROLLBACK_IN_PROGRESS'),
            stack('ROLLBACK_COMPLETE')])
        self.assertEqual('ROLLBACK_COMPLETE', runner.wait_stack())
        self.assertEqual(5, len(polls))

    def test_update_failed_then_rollback_failed(self):
        runner, _ = self.runner([
            stack('UPDATE_FAILED'), stack('ROLLBACK_IN_PROGRESS'),
            stack('ROLLBACK_FAILED')])
        self.assertEqual('ROLLBACK_FAILED', runner.wait_stack())

    def test_failed_without_rollback_is_final_at_once(self):
        runner, polls = self.runner([
            stack('CREATE_FAILED', disable_rollback=True),
            stack('DELETE_IN_PROGRESS')])
        self.assertEqual('CREATE_FAILED', runner.wait_stack())
        self.assertEqual(['CREATE_FAILED'], polls)

    def test_failed_that_no_rollback_follows_is_returned_not_hidden(self):
        # An engine that never starts the rollback: the FAILED is what the
        # user is left with, and the wait returns it (not an error, not a
        # wait for the stack's whole timeout).
        runner, polls = self.runner([stack('UPDATE_FAILED')])
        start = self.clock.now
        self.assertEqual('UPDATE_FAILED', runner.wait_stack(timeout=240))
        waited = self.clock.now - start
        self.assertGreaterEqual(waited, dsl.ROLLBACK_START_SECS)
        self.assertLess(waited, 240)
        self.assertGreater(len(polls), 1)

    def test_a_cancel_without_rollback_is_final_at_once(self):
        runner, polls = self.runner([stack('UPDATE_FAILED')])
        self.assertEqual('UPDATE_FAILED',
                         runner.wait_stack(rollback_may_follow=False))
        self.assertEqual(['UPDATE_FAILED'], polls)
        runner, polls = self.runner([stack('UPDATE_FAILED')])
        runner.cloud.openstack.return_value = None
        runner.snapshot = mock.Mock()
        dsl.Cancel(rollback=False).run(runner)
        self.assertEqual(['UPDATE_FAILED'], polls)
        runner.snapshot.assert_called_once_with('cancel --no-rollback')

    def test_other_endings_are_final_at_once(self):
        for status in ('ROLLBACK_FAILED', 'DELETE_FAILED', 'CHECK_FAILED',
                       'SUSPEND_FAILED', 'CREATE_COMPLETE',
                       'DELETE_COMPLETE'):
            runner, polls = self.runner([stack(status), stack('X_Y')])
            self.assertEqual(status, runner.wait_stack(), status)
            self.assertEqual([status], polls)

    def test_rollback_follows(self):
        self.assertTrue(dsl.rollback_follows(stack('CREATE_FAILED')))
        self.assertTrue(dsl.rollback_follows(stack('RESTORE_FAILED')))
        self.assertFalse(dsl.rollback_follows(
            stack('UPDATE_FAILED', disable_rollback=True)))
        self.assertFalse(dsl.rollback_follows(stack('UPDATE_COMPLETE')))
        self.assertFalse(dsl.rollback_follows(stack('ROLLBACK_FAILED')))
        self.assertFalse(dsl.rollback_follows(stack('SNAPSHOT_FAILED')))
