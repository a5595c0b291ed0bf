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

"""Driving a stalled traversal again, with fakes for Heat and Mistral."""

import types

from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.recovery import orphans
from heat_mistral_engine.heat.recovery import redrive
from heat_mistral_engine.heat.store import traversal_mark
from tests.unit import base
from tests.unit.heat.recovery import test_orphans

ago = test_orphans.ago
NOW = test_orphans.NOW


class FakeHeat(test_orphans.FakeHeat):
    """Heat's side, with the re-drive claim of ``traversal_mark``."""

    def __init__(self, calls):
        super().__init__()
        self.calls = calls
        self.trees = set()
        self.claims = {}        # traversal -> (execution, claimant, count)
        self.stamps = {}        # traversal -> redriven at
        self.gone = set()       # traversals whose mark is gone

    def in_tree(self, sid):
        return sid in self.trees

    def redriven_at(self, traversal):
        return self.stamps.get(traversal)

    def claim_redrive(self, traversal, ex_id, claimant, limit, stale_after):
        self.calls.append(('claim', ex_id, claimant))
        if traversal in self.gone:
            return traversal_mark.LOST, 0
        held_ex, held_by, count = self.claims.get(traversal, (None, None, 0))
        if held_ex == ex_id:
            return ((traversal_mark.WON if held_by == claimant
                     else traversal_mark.LOST), count)
        if count >= limit:
            return traversal_mark.EXHAUSTED, count
        self.claims[traversal] = (ex_id, claimant, count + 1)
        self.stamps[traversal] = NOW
        return traversal_mark.WON, count + 1


class FakeMistral(test_orphans.FakeMistral):
    """Mistral's side: records each stop and start, in order."""

    def __init__(self, calls):
        super().__init__()
        self.calls = calls
        self.definitions = {}   # (name, namespace) -> definition text
        self.started = 0
        self.on_start = None    # called after a start (a race)

    def workflow_id(self, name, namespace):
        return (name, namespace) if (name, namespace) in \
            self.definitions else None

    def own_definition(self, workflow_id):
        return self.definitions.get(workflow_id)

    def stop_execution(self, ex_id, state, reason=None):
        self.calls.append(('stop', ex_id))
        for e in self.executions:
            if e.id == ex_id:
                if e.state not in ('RUNNING', 'PAUSED'):
                    raise mistral_api.MistralUnavailable('already ended')
                e.state = state
        self.cancelled.append(ex_id)

    def running_executions(self, workflow):
        return [e for e in self.executions if e.workflow_name == workflow
                and e.state in ('RUNNING', 'PAUSED')]

    def start_execution(self, workflow_id, workflow_input, description,
                        params=None):
        self.started += 1
        ex_id = 'r%d' % self.started
        self.calls.append(('start', ex_id, workflow_id))
        execution = types.SimpleNamespace(
            id=ex_id, workflow_name=workflow_id[0], state='RUNNING',
            state_info=None, input=dict(workflow_input),
            description=description)
        self.executions.append(execution)
        if self.on_start:
            self.on_start()
        return execution


class RedriveTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.calls = []
        self.heat = FakeHeat(self.calls)
        self.mistral = FakeMistral(self.calls)
        self.now = NOW

    def stalled(self, sid='s1', trav='t1', ex_id='e1', hooks=False):
        self.heat.add(sid, trav=trav)
        self.mistral.add(ex_id, sid, trav=trav)
        self.mistral.executions[-1].input['token'] = 'sealed'
        self.mistral.executions[-1].description = 'Heat stack %s' % sid
        self.mistral.task_changes[ex_id] = ago(600).isoformat(' ')
        self.mistral.definitions[('heat_stack_%s' % sid, trav)] = (
            'tags: [operator-hook:before:n:dns]' if hooks else 'tasks: {}')

    def check(self, claimant='engine-a', limit=3):
        redriver = redrive.Redriver(self.heat, self.mistral, claimant,
                                    limit, 120)
        checker = orphans.Checker(self.heat, self.mistral, 120,
                                  now=lambda: self.now, redriver=redriver)
        return checker.check(repair=True)

    def test_a_stalled_traversal_is_cancelled_then_started_again(self):
        self.stalled()
        (found,) = self.check()
        self.assertEqual(('stalled', True, True, None),
                         (found.kind, found.repaired, found.redriven,
                          found.error))
        # Cancel before start: never two live executions of the traversal.
        self.assertEqual([('claim', 'e1', 'engine-a'), ('stop', 'e1'),
                          ('start', 'r1', ('heat_stack_s1', 't1'))],
                         self.calls)
        # The same traversal's definition, with the same input.
        new = self.mistral.executions[-1]
        self.assertEqual({'stack_id': 's1', 'traversal': 't1',
                          'token': 'sealed'}, new.input)
        self.assertEqual('Heat stack s1', new.description)
        self.assertEqual('IN_PROGRESS', self.heat.stacks['s1'].status)
        self.assertEqual([], self.heat.failed)
        live = [e.id for e in self.mistral.executions
                if e.state == 'RUNNING']
        self.assertEqual(['r1'], live)

    def test_the_grace_period_counts_from_the_last_redrive(self):
        self.stalled()
        self.check()
        # The next check, before the new execution changed any task: not
        # stalled yet, and no 'stack' orphan for the moment between the
        # cancel and the start either.
        self.assertEqual([], self.check())
        self.mistral.executions[-1].state = 'CANCELLED'
        self.assertEqual([], self.check())
        self.assertEqual([], self.heat.failed)

    def test_the_engine_that_loses_the_claim_does_nothing(self):
        self.stalled()
        self.heat.claims['t1'] = ('e1', 'engine-b', 1)
        (found,) = self.check(claimant='engine-a')
        self.assertFalse(found.repaired)
        self.assertIn('another engine', found.error)
        self.assertEqual([('claim', 'e1', 'engine-a')], self.calls)
        self.assertEqual([], self.heat.failed)
        self.assertEqual('RUNNING', self.mistral.executions[0].state)

    def test_the_claimants_retry_after_its_cancel_still_starts(self):
        # Its first attempt won the claim and cancelled e1, then Mistral
        # failed the start; the retry stops e1 again (refused: it ended)
        # and starts the traversal.
        self.stalled()
        self.heat.claims['t1'] = ('e1', 'engine-a', 1)
        stalled = self.mistral.executions[0]
        stalled.state = 'CANCELLED'
        redriver = redrive.Redriver(self.heat, self.mistral, 'engine-a', 3,
                                    120)
        answer, why = redriver.redrive(self.heat.stack('s1'), stalled)
        self.assertEqual(redrive.REDRIVEN, answer)
        self.assertEqual(['stop', 'start'], [c[0] for c in self.calls[1:]])
        self.assertEqual(1, self.heat.claims['t1'][2])   # the same re-drive

    def test_a_stop_refused_while_it_still_runs_is_raised(self):
        self.stalled()

        def refuse(ex_id, state, reason=None):
            raise mistral_api.MistralUnavailable('Mistral down')
        self.mistral.stop_execution = refuse
        (found,) = self.check()
        self.assertFalse(found.repaired)
        self.assertIn('Mistral down', found.error)
        self.assertEqual(0, self.mistral.started)
        self.assertEqual([], self.heat.failed)

    def test_after_the_last_redrive_the_stack_fails_as_before(self):
        self.stalled()
        self.heat.claims['t1'] = ('e0', 'engine-b', 3)
        (found,) = self.check(limit=3)
        self.assertTrue(found.repaired)
        self.assertFalse(found.redriven)
        self.assertEqual('FAILED', self.heat.stacks['s1'].status)
        ((sid, reason),) = self.heat.failed
        self.assertIn('was not driven again (it was driven again 3 times '
                      'already); recover with', reason)
        self.assertEqual(1, reason.count('recover with'))
        self.assertEqual(0, self.mistral.started)
        self.assertEqual(['e1'], self.mistral.cancelled)

    def test_redrives_can_be_disabled(self):
        self.stalled()
        (found,) = self.check(limit=0)
        self.assertEqual('FAILED', self.heat.stacks['s1'].status)
        self.assertIn('driving it again is disabled', found.reason)
        self.assertEqual(0, self.mistral.started)

    def test_a_nested_stack_tree_fails_as_before(self):
        self.stalled()
        self.heat.trees.add('s1')
        (found,) = self.check()
        self.assertEqual('FAILED', self.heat.stacks['s1'].status)
        self.assertIn('a nested stack tree is not driven again',
                      found.reason)
        self.assertEqual(0, self.mistral.started)
        self.assertNotIn('claim', [c[0] for c in self.calls])

    def test_a_traversal_with_operator_hooks_fails_as_before(self):
        self.stalled(hooks=True)
        (found,) = self.check()
        self.assertEqual('FAILED', self.heat.stacks['s1'].status)
        self.assertIn('operator hooks', found.reason)
        self.assertEqual(0, self.mistral.started)

    def test_a_stack_that_moved_on_after_the_cancel_gets_no_execution(self):
        self.stalled()
        real_stop = self.mistral.stop_execution

        def stop_then_supersede(ex_id, state, reason=None):
            real_stop(ex_id, state, reason)
            self.heat.add('s1', trav='t2')     # a newer traversal
        self.mistral.stop_execution = stop_then_supersede
        (found,) = self.check()
        self.assertFalse(found.repaired)
        self.assertIn('moved on', found.error)
        self.assertEqual(0, self.mistral.started)
        self.assertEqual([], self.heat.failed)

    def test_a_start_superseded_meanwhile_is_withdrawn(self):
        self.stalled()
        self.mistral.on_start = lambda: self.heat.add('s1', trav='t2')
        (found,) = self.check()
        self.assertFalse(found.repaired)
        self.assertIn('moved on', found.error)
        self.assertEqual([('claim', 'e1', 'engine-a'), ('stop', 'e1'),
                          ('start', 'r1', ('heat_stack_s1', 't1')),
                          ('stop', 'r1')], self.calls)
        self.assertEqual([], [e.id for e in self.mistral.executions
                              if e.state == 'RUNNING'])

    def test_without_a_redriver_a_stalled_stack_fails(self):
        self.stalled()
        checker = orphans.Checker(self.heat, self.mistral, 120,
                                  now=lambda: NOW)
        checker.check(repair=True)
        self.assertEqual('FAILED', self.heat.stacks['s1'].status)
