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


"""The parity suite's parts that let it run in CI, offline.

The per-scenario Mistral check (scenarios at once) and the fixed set of
difftest seeds that CI plays.
"""

import json
import types

from mistralclient.api import base as mistral_base

from tests.parity import checks
from tests.parity import generate
from tests.parity import test_difftest_seeds
from tests.unit import base


def execution(id_, workflow, parent=None):
    params = {'heat_parent': {'execution_id': parent}} if parent else {}
    return types.SimpleNamespace(id=id_, workflow_name=workflow,
                                 params=json.dumps(params),
                                 state='RUNNING', description='')


class FakeExecutions(object):
    """executions.get by id, counting the calls; gone ids raise."""

    def __init__(self, executions, gone=()):
        self.by_id = {e.id: e for e in executions}
        self.gone = set(gone)
        self.gets = []

    def get(self, id_):
        self.gets.append(id_)
        if id_ in self.gone:
            raise mistral_base.APIException(404, 'not found')
        return self.by_id[id_]


class OwnRunningTest(base.TestCase):

    def test_own_stack_nested_and_their_descendants_only(self):
        running = [
            execution('top', 'heat_stack_s'),
            execution('child', 'heat_stack_n'),
            # A nested stack's nested stack: not in the record, linked.
            execution('grandchild', 'heat_stack_g', parent='child'),
            execution('great', 'heat_stack_h', parent='grandchild'),
            # Another scenario's stack and its nested stack.
            execution('other', 'heat_stack_o'),
            execution('other-child', 'heat_stack_p', parent='other'),
        ]
        # Listed deepest first: the links are followed whatever the order.
        running.reverse()
        client = types.SimpleNamespace(
            executions=FakeExecutions(running))
        ours = {'top-done'}
        mine = checks.own_running(client, running, ours,
                                  {'heat_stack_s', 'heat_stack_n'}, {})
        self.assertEqual({'top', 'child', 'grandchild', 'great'},
                         {e.id for e in mine})
        self.assertTrue({'grandchild', 'great'} <= ours)
        self.assertNotIn('other-child', ours)

    def test_parents_are_read_once_across_polls(self):
        running = [execution('other', 'heat_stack_o'),
                   execution('linked', 'heat_stack_l', parent='top')]
        client = types.SimpleNamespace(executions=FakeExecutions(running))
        parents = {}
        for _poll in range(3):
            mine = checks.own_running(client, running, {'top'},
                                      {'heat_stack_s'}, parents)
            self.assertEqual(['linked'], [e.id for e in mine])
        self.assertEqual(['linked', 'other'],
                         sorted(client.executions.gets))

    def test_an_execution_deleted_since_listed_is_not_ours(self):
        running = [execution('gone', 'heat_stack_x', parent='top')]
        client = types.SimpleNamespace(
            executions=FakeExecutions(running, gone={'gone'}))
        self.assertEqual([], checks.own_running(
            client, running, {'top'}, {'heat_stack_s'}, {}))


def step_kinds(the_plan):
    """The kinds of user step in a plan, as the docs name them."""
    kinds = set()
    for group in the_plan['groups']:
        first, labels = group[0], {op.get('label') for op in group}
        failing = any(r.get('fail') for r in
                      first.get('model', {}).get('resources', {}).values())
        if first['op'] == 'create':
            if len(group) > 1:
                kinds.add('delete during create')
            elif failing:
                kinds.add('failed create, rollback %s' % first['rollback'])
        elif any(op['op'] == 'cancel' for op in group):
            kinds.add('cancel, rollback %s' % group[-1]['rollback'])
        elif 'superseding update' in labels:
            kinds.add('supersede')
        elif 'slow update' in labels:
            kinds.add('delete during update')
        elif 'long delete wait' in labels:
            kinds.add('delete timing out')
        elif first['op'] == 'action':
            kinds.add(' '.join(op['action'] for op in group))
        elif 'failing update' in labels:
            kinds.add('failed update, rollback %s' % bool(first['rollback']))
        elif first['op'] == 'update':
            kinds.add(first['label'])
    return kinds


def coverage(seed):
    """What a seed's plan covers: step kinds, resource kinds, conditions."""
    the_plan = generate.plan(seed)
    found = set(step_kinds(the_plan))
    for group in the_plan['groups']:
        for op in group:
            for res in op.get('model', {}).get('resources', {}).values():
                found.add('resource ' + res['kind'])
                if res.get('cond'):
                    found.add('conditions')
    return found


class CiSeedsTest(base.TestCase):

    def test_every_ci_seed_covers_something_no_other_does(self):
        # Each seed costs CI minutes: one whose coverage the others have
        # goes (seed 67 did).
        covered = {seed: coverage(seed) for seed in test_difftest_seeds.SEEDS}
        for seed, found in covered.items():
            others = set().union(*(f for s, f in covered.items()
                                   if s != seed))
            self.assertTrue(found - others, 'seed %d adds nothing' % seed)

    def test_ci_seeds_cover_every_kind_of_step_and_both_nestings(self):
        kinds, resource_kinds, conditions = set(), set(), False
        for seed in test_difftest_seeds.SEEDS:
            found = coverage(seed)
            kinds |= {k for k in found
                      if not k.startswith('resource ') and k != 'conditions'}
            resource_kinds |= {k.split(' ', 1)[1] for k in found
                               if k.startswith('resource ')}
            conditions = conditions or 'conditions' in found
        self.assertEqual({
            'delete during create', 'failed create, rollback True',
            'failed create, rollback False', 'cancel, rollback True',
            'cancel, rollback False', 'supersede', 'delete during update',
            'delete timing out', 'check', 'suspend resume',
            'failed update, rollback True', 'failed update, rollback False',
            'update in place', 'update replacing',
            'update adding and removing', 'update --existing'}, kinds)
        self.assertEqual(set(generate.TYPES), resource_kinds)
        self.assertTrue(conditions)
