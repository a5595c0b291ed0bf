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

"""The orphan check, with fakes for Heat's stacks and Mistral's executions."""

import dataclasses
import datetime
import io
import types

from heat_mistral_engine.cli import orphans as orphans_cli
from heat_mistral_engine.heat.patches import stack_row
from heat_mistral_engine.heat.recovery import orphans
from tests.unit import base

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0)


def ago(seconds):
    return NOW - datetime.timedelta(seconds=seconds)


class FakeHeat:
    def __init__(self):
        self.stacks = {}
        self.failed = []

    def add(self, sid, status='IN_PROGRESS', action='CREATE', trav='t1',
            age=600, driven=True):
        self.stacks[sid] = stack_row.StackState(
            sid, trav, status, action=action, updated_at=ago(age),
            mistral_driven=driven)

    def stack(self, sid):
        return self.stacks.get(sid)

    def in_progress_stacks(self):
        return [s for s in self.stacks.values()
                if s.status == 'IN_PROGRESS']

    def redriven_at(self, traversal):
        return None

    def fail_if_current(self, sid, traversal, reason):
        stack = self.stacks[sid]
        if stack.current_traversal != traversal:
            return False
        self.stacks[sid] = dataclasses.replace(stack, status='FAILED')
        self.failed.append((sid, reason))
        return True


class FakeMistral:
    def __init__(self):
        self.executions = []
        self.cancelled = []
        self.actions = []       # (stack_id, traversal) of running actions
        self.task_changes = {}  # execution id -> text stamp

    def running_node_actions(self):
        return [types.SimpleNamespace(
            id='ax', input={'stack_id': sid, 'traversal': trav})
            for sid, trav in self.actions]

    def last_task_change(self, ex_id):
        return self.task_changes.get(ex_id)

    def add(self, ex_id, sid, trav='t1', state='RUNNING', info=None):
        self.executions.append(types.SimpleNamespace(
            id=ex_id, workflow_name='heat_stack_%s' % sid, state=state,
            state_info=info, input={'stack_id': sid, 'traversal': trav}))

    def stack_executions(self):
        return [e for e in self.executions
                if e.state in ('RUNNING', 'PAUSED')]

    def executions_of(self, workflow):
        return [e for e in self.executions if e.workflow_name == workflow]

    def stop_execution(self, ex_id, state, reason=None):
        assert state == 'CANCELLED' and reason.startswith('Orphan check: ')
        self.cancelled.append(ex_id)
        for e in self.executions:
            if e.id == ex_id:
                e.state = 'CANCELLED'


class CheckerTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.heat = FakeHeat()
        self.mistral = FakeMistral()

    def check(self, repair=False):
        checker = orphans.Checker(self.heat, self.mistral, 120,
                                  now=lambda: NOW)
        return checker.check(repair=repair)

    def summary(self, found):
        return sorted((o.kind, o.stack_id, o.execution_id, o.repaired)
                      for o in found)

    def test_agreeing_stacks_and_executions_are_not_orphans(self):
        self.heat.add('s1')
        self.mistral.add('e1', 's1')
        self.mistral.actions.append(('s1', 't1'))
        self.heat.add('s2', status='COMPLETE')
        self.mistral.add('e2', 's2', state='SUCCESS')
        self.heat.add('s3', action='CHECK', driven=False)   # Heat's own
        self.assertEqual([], self.check(repair=True))
        self.assertEqual([], self.mistral.cancelled)

    def test_running_execution_of_a_finished_or_deleted_stack_is_cancelled(
            self):
        self.heat.add('done', status='FAILED', trav='')
        self.mistral.add('e1', 'done')
        self.mistral.add('e2', 'deleted')
        self.heat.add('moved', trav='t2')
        self.mistral.add('e3', 'moved', trav='t1')    # superseded
        self.mistral.add('e4', 'moved', trav='t2')    # current: fine
        self.mistral.actions.append(('moved', 't2'))
        found = self.check(repair=True)
        self.assertEqual([('execution', 'deleted', 'e2', True),
                          ('execution', 'done', 'e1', True),
                          ('execution', 'moved', 'e3', True)],
                         self.summary(found))
        self.assertEqual(['e1', 'e2', 'e3'], sorted(self.mistral.cancelled))
        reasons = {o.execution_id: o.reason for o in found}
        self.assertEqual('the stack is CREATE_FAILED', reasons['e1'])
        self.assertEqual('the stack is deleted', reasons['e2'])
        self.assertIn('superseded by t2', reasons['e3'])

    def test_an_execution_still_finishing_is_left_alone(self):
        # Heat marked the stack COMPLETE (or deleted it) when its last
        # node was done; the node's report reaches Mistral a moment later.
        # The stack's updated_at is when its action began, long ago.
        self.heat.add('done', status='COMPLETE')
        self.mistral.add('e1', 'done')
        self.mistral.add('e2', 'deleted')
        self.mistral.task_changes.update(e1=ago(5), e2=ago(5))
        self.assertEqual([], self.check(repair=True))
        self.assertEqual([], self.mistral.cancelled)
        # Once its tasks have stopped changing for the grace period, it is
        # an orphan.
        self.mistral.task_changes.update(e1=ago(300), e2=ago(300))
        self.assertEqual([('execution', 'deleted', 'e2', True),
                          ('execution', 'done', 'e1', True)],
                         self.summary(self.check(repair=True)))

    def test_stack_in_progress_without_running_execution_is_failed(self):
        self.heat.add('s1')
        self.mistral.add('e1', 's1', state='CANCELLED', info='by hand')
        self.heat.add('s2', action='UPDATE')             # no execution
        found = self.check(repair=True)
        self.assertEqual([('stack', 's1', 'e1', True),
                          ('stack', 's2', None, True)],
                         self.summary(found))
        reasons = dict(self.heat.failed)
        self.assertIn('Mistral execution e1 of this CREATE ended CANCELLED '
                      'while the stack was still IN_PROGRESS',
                      reasons['s1'])
        # Mistral's own text can hold a traceback or the sealed token.
        self.assertNotIn('by hand', reasons['s1'])
        self.assertIn("openstack stack update --existing", reasons['s1'])
        self.assertIn('Mistral has no execution of this UPDATE',
                      reasons['s2'])

    def test_an_execution_started_after_the_listing_is_no_orphan(self):
        # The delete's execution starts between the listing of running
        # executions and the read of the stacks IN_PROGRESS.
        self.heat.add('s1', action='DELETE', trav='t2')
        listed = self.mistral.stack_executions

        def list_then_start():
            found = listed()
            self.mistral.add('e2', 's1', trav='t2')
            return found

        self.mistral.stack_executions = list_then_start
        self.assertEqual([], self.check(repair=True))
        self.assertEqual([], self.heat.failed)

    def test_check_can_be_limited_to_some_stacks(self):
        self.heat.add('done', status='COMPLETE')
        self.mistral.add('e1', 'done')
        self.heat.add('s1')
        self.mistral.add('e2', 'other')
        checker = orphans.Checker(self.heat, self.mistral, 120,
                                  now=lambda: NOW)
        found = checker.check(repair=True, stack_ids=['s1'])
        self.assertEqual([('stack', 's1', None, True)], self.summary(found))
        self.assertEqual([], self.mistral.cancelled)

    def test_running_execution_that_runs_nothing_is_stalled(self):
        # s1: no action runs, no task changed for 10 min: Mistral lost it.
        self.heat.add('s1')
        self.mistral.add('e1', 's1')
        self.mistral.task_changes['e1'] = ago(600).isoformat(' ')
        # s2: between two tasks (one just ended): fine.
        self.heat.add('s2')
        self.mistral.add('e2', 's2')
        self.mistral.task_changes['e2'] = ago(3).isoformat(' ')
        found = self.check(repair=True)
        self.assertEqual([('stalled', 's1', 'e1', True)], self.summary(found))
        self.assertIn('Mistral execution e1 of this CREATE is RUNNING but '
                      'has run no resource for 120 s', found[0].reason)
        self.assertEqual('FAILED', self.heat.stacks['s1'].status)
        self.assertEqual(['e1'], self.mistral.cancelled)

    def test_young_disagreements_are_left_for_the_grace_period(self):
        self.heat.add('starting', age=5)                 # no execution yet
        self.heat.add('ending', status='COMPLETE', age=5)
        self.mistral.add('e1', 'ending')                  # finishing
        self.assertEqual([], self.check(repair=True))

    def test_without_repair_nothing_changes(self):
        self.heat.add('done', status='FAILED')
        self.mistral.add('e1', 'done')
        self.heat.add('s1')
        found = self.check()
        self.assertEqual(2, len(found))
        self.assertFalse(any(o.repaired for o in found))
        self.assertEqual([], self.mistral.cancelled)
        self.assertEqual([], self.heat.failed)

    def test_failed_repair_is_reported_not_raised(self):
        self.heat.add('done', status='COMPLETE')
        self.mistral.add('e1', 'done')

        def refuse(ex_id, state, reason=None):
            raise RuntimeError('Mistral says no')
        self.mistral.stop_execution = refuse
        found = self.check(repair=True)
        self.assertEqual('Mistral says no', found[0].error)
        self.assertFalse(found[0].repaired)

    def test_table_lists_each_orphan_and_the_count(self):
        self.heat.add('done', status='COMPLETE')
        self.mistral.add('e1', 'done')
        out = io.StringIO()
        orphans_cli.print_table(self.check(repair=True), out)
        lines = out.getvalue().splitlines()
        self.assertTrue(lines[0].startswith('kind'))
        self.assertIn('execution  done   e1', lines[1])
        self.assertIn('repaired', lines[1])
        self.assertEqual('1 orphan(s)', lines[-1])

    def test_a_running_execution_missing_from_the_running_list_is_no_orphan(
            self):
        # After a broker restart the list of running executions missed one
        # that the stack's own list shows RUNNING: the stack was failed
        # for an execution "ended RUNNING".
        self.heat.add('s1')
        self.mistral.add('e1', 's1')
        self.mistral.stack_executions = lambda: []
        self.assertEqual([], self.check(repair=True))
        self.assertEqual([], self.heat.failed)
