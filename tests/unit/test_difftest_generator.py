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

"""The generative differential test's generator and shrinker, offline.

Templates are parsed and validated with Heat's own parser
(``template_graph.load_stack``, as ``heat-mistral-engine graph`` does);
no cloud is needed.
"""

import copy
import io
import json
import os
import tempfile
import threading
import time
import types

from heatclient.common import template_utils

from heat_mistral_engine.heat.traversal import template_graph
from tests.parity import checks
from tests.parity import compare
from tests.parity import difftest
from tests.parity import dsl
from tests.parity import generate
from tests.parity import shrink
from tests.unit import base

SEEDS = range(12)


def load(directory, name, params):
    """Heat's Stack of a written template, as `openstack stack` sends it."""
    files, template = template_utils.process_template_path(
        os.path.join(directory, name))
    return template_graph.load_stack(json.dumps(template), files=files,
                                     parameters=params)


class GeneratorTest(base.TestCase):

    def test_templates_are_valid_acyclic_and_sized(self):
        for seed in SEEDS:
            the_plan = generate.plan(seed)
            spec = generate.literal(the_plan)
            directory = self.useFixture_tempdir()
            generate.scenario_from_literal(spec, directory)
            first = the_plan['groups'][0][0]['model']
            self.assertGreaterEqual(len(first['resources']),
                                    generate.MIN_RESOURCES)
            self.assertLessEqual(len(first['resources']),
                                 generate.MAX_RESOURCES)
            for kind, kwargs in spec['steps']:
                if 'template' not in kwargs:
                    continue
                stack = load(directory, kwargs['template'],
                             kwargs['params'])
                # Heat's checks: references resolve, no cycle...
                list(stack.dependencies)
                # ...and every resource's properties fit its schema
                # (nested stacks are not built offline).
                stack.validate(validate_res_tmpl_only=True)

    def test_seeds_are_reproducible(self):
        for seed in SEEDS:
            self.assertEqual(generate.literal(generate.plan(seed)),
                             generate.literal(generate.plan(seed)))
        self.assertNotEqual(generate.literal(generate.plan(1)),
                            generate.literal(generate.plan(2)))

    def test_steps_after_create_end_with_a_delete(self):
        for seed in range(60):
            the_plan = generate.plan(seed)
            self.assertEqual('create', the_plan['groups'][0][0]['op'])
            self.assertEqual('delete', the_plan['groups'][-1][-1]['op'])
            ended_early = (len(the_plan['groups'][0]) > 1
                           or the_plan['groups'][0][0]['rollback'])
            if not ended_early:
                self.assertGreaterEqual(difftest.step_count(the_plan),
                                        generate.MIN_STEPS, seed)
            self.assertLessEqual(difftest.step_count(the_plan),
                                 generate.MAX_STEPS, seed)

    def test_funnel_makes_every_acted_resource_related_to_the_pivot(self):
        old = {'params': {'p': 'p0', 'enable': True}, 'next': 0,
               'resources': {}}
        new = {'params': {'p': 'p0', 'enable': True}, 'next': 0,
               'resources': {
                   'a': {'kind': 'test', 'deps': [], 'value': 'v'},
                   'b': {'kind': 'test', 'deps': [['get_attr', 'a']],
                         'value': 'v'},
                   'c': {'kind': 'value', 'deps': [], 'value': 'v'},
                   'd': {'kind': 'value', 'deps': [['get_attr', 'b']],
                         'value': 'v'}}}
        for res in new['resources'].values():
            res['param'] = False
        generate.funnel(old, new, 'b')
        # c was independent of b; d already a descendant, a an ancestor.
        self.assertEqual([['get_attr', 'a'], ['depends_on', 'c']],
                         new['resources']['b']['deps'])

    def test_funnel_counts_an_unchanged_nested_stack_as_acted_on(self):
        # Heat updates a nested stack on every update: left out of the
        # funnel, seed 2's ResourceGroup raced its superseding update.
        old = {'params': {'p': 'p0', 'enable': True}, 'next': 0,
               'resources': {
                   'a': {'kind': 'test', 'deps': [], 'value': 'v'},
                   'g': {'kind': 'group', 'deps': [], 'value': 'v',
                         'count': 2},
                   'p': {'kind': 'provider', 'deps': [], 'value': 'v'},
                   'n': {'kind': 'value', 'deps': [], 'value': 'v'}}}
        for res in old['resources'].values():
            res['param'] = False
        new = copy.deepcopy(old)
        new['resources']['a']['value'] = 'v2'
        generate.funnel(old, new, 'a')
        self.assertEqual([['depends_on', 'g'], ['depends_on', 'p']],
                         new['resources']['a']['deps'])

    def test_random_values_are_volatile_outputs(self):
        model = {'params': {'p': 'p0', 'enable': True}, 'next': 0,
                 'resources': {
                     'rnd': {'kind': 'random', 'deps': [], 'value': 'v',
                             'length': 8, 'param': False, 'output': True},
                     'val': {'kind': 'value', 'deps': [['get_attr', 'rnd']],
                             'value': 'v', 'param': False, 'output': True},
                     'id': {'kind': 'value', 'deps': [['get_resource',
                                                       'val']],
                            'value': 'v', 'param': False, 'output': True},
                     'plain': {'kind': 'test', 'deps': [['depends_on',
                                                         'rnd']],
                               'value': 'v', 'param': False,
                               'output': True}}}
        self.assertEqual(['o_id', 'o_rnd', 'o_val'],
                         generate.render(model)['_volatile'])

    def test_literal_plays_as_a_scenario_with_absolute_paths(self):
        directory = self.useFixture_tempdir()
        scenario = generate.scenario_from_literal(
            generate.literal(generate.plan(3)), directory)
        self.assertIsInstance(scenario.steps[0], dsl.Create)
        self.assertTrue(os.path.isabs(scenario.steps[0].template))
        args = dsl.Runner.template_args(None, scenario.steps[0].template)
        self.assertEqual(['-t', scenario.steps[0].template], args)

    def test_without_resources_drops_references_and_refuses_pivots(self):
        the_plan = generate.plan(3)
        names = generate.resource_names(the_plan)
        smaller = generate.without_resources(the_plan, names[:2])
        self.assertNotIn(names[0], generate.resource_names(smaller))
        for group in smaller['groups']:
            for op in group:
                for res in op.get('model', {'resources': {}})[
                        'resources'].values():
                    self.assertNotIn(names[0], [t for _h, t in res['deps']])
        waited = [op['name'] for group in the_plan['groups']
                  for op in group if op['op'] == 'wait_resource']
        if waited:
            self.assertIsNone(generate.without_resources(the_plan,
                                                         waited[:1]))

    def useFixture_tempdir(self):
        directory = tempfile.mkdtemp(prefix='difftest-unit-')
        self.addCleanup(_rmtree, directory)
        return directory


def _rmtree(directory):
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))
    os.rmdir(directory)


class ShrinkTest(base.TestCase):

    def test_ddmin_finds_the_two_items_that_matter(self):
        calls = []

        def test(candidate):
            calls.append(candidate)
            return {3, 7} <= set(candidate)

        budget = shrink.Budget(100)
        found = shrink.ddmin(list(range(10)), lambda c: budget.attempt(
            test, c), budget)
        self.assertEqual([3, 7], found)
        self.assertEqual(len(calls), budget.used)

    def test_ddmin_stops_when_the_budget_is_spent(self):
        budget = shrink.Budget(3)
        found = shrink.ddmin(list(range(10)), lambda c: budget.attempt(
            lambda x: 5 in x, c), budget)
        self.assertEqual(0, budget.left)
        self.assertIn(5, found)
        self.assertLess(len(found), 10)

    def test_invalid_candidates_cost_nothing(self):
        budget = shrink.Budget(1)
        self.assertFalse(budget.attempt(lambda c: True, None))
        self.assertEqual(1, budget.left)

    def test_shrink_drops_steps_then_resources(self):
        the_plan = generate.plan(5)
        names = generate.resource_names(the_plan)
        key = names[-1]

        def reproduces(candidate):
            # "Diverges" while some step still updates and `key` exists.
            return (key in generate.resource_names(candidate) and any(
                op['op'] == 'update' for group in candidate['groups']
                for op in group))

        smaller, runs = shrink.shrink(the_plan, reproduces, max_runs=40)
        self.assertLessEqual(runs, 40)
        self.assertTrue(reproduces(smaller))
        self.assertLess(len(smaller['groups']), len(the_plan['groups']))
        self.assertLess(len(generate.resource_names(smaller)), len(names))
        self.assertEqual(the_plan['groups'][0][0]['op'],
                         smaller['groups'][0][0]['op'])
        self.assertEqual('delete', smaller['groups'][-1][-1]['op'])

    def test_shrink_respects_the_run_bound(self):
        runs = []
        # Nothing reproduces: every chunk of steps and resources is tried.
        smaller, used = shrink.shrink(
            generate.plan(5), lambda c: runs.append(c) and False,
            max_runs=15)
        self.assertEqual(15, len(runs))
        self.assertEqual(15, used)


class RunnerTest(base.TestCase):

    def test_one_line_per_plan_and_a_summary(self):
        diverging = {2}

        def play(the_plan, clouds):
            if the_plan['seed'] in diverging:
                return [compare.Difference('what differs', 'a', 'b')]
            return []

        out = io.StringIO()
        failed = difftest.run(1, 3, None, 2, out=out, play=play)
        lines = out.getvalue().splitlines()
        self.assertEqual(1, failed)
        self.assertRegex(lines[0], r'^seed 1: \d+ resources, \d+ steps, OK,')
        self.assertRegex(lines[1], r'^seed 2: .* DIVERGED, ')
        self.assertIn('seed 2: reproduction shrunk in', out.getvalue())
        self.assertEqual('2 passed, 1 failed', lines[-1])

    def test_plans_at_once_print_in_seed_order_and_share_no_check(self):
        seen = []
        lock = threading.Lock()
        both_started = threading.Barrier(2, timeout=10)

        def play(the_plan, clouds, alone=True):
            with lock:
                seen.append((the_plan['seed'], alone))
            if the_plan['seed'] in (1, 2):
                # Seeds 1 and 2 run at once, or this waits in vain.
                both_started.wait()
            if the_plan['seed'] == 1:
                time.sleep(0.2)     # ends after seed 2
            return []

        out = io.StringIO()
        self.assertEqual(0, difftest.run(1, 3, None, 2, out=out, play=play,
                                         jobs=2))
        lines = out.getvalue().splitlines()
        self.assertEqual(['seed 1', 'seed 2', 'seed 3'],
                         [line.split(':')[0] for line in lines[:3]])
        self.assertEqual({(1, False), (2, False), (3, False)}, set(seen))
        self.assertEqual('3 passed, 0 failed', lines[-1])

    def test_delays_file_is_written_and_removed(self):
        directory = tempfile.mkdtemp(prefix='difftest-unit-')
        restarts = []
        self.assertTrue(difftest.set_delays(directory, 200,
                                            lambda: restarts.append(1)))
        path = os.path.join(directory, 'etc', 'heat.conf.d',
                            difftest.DELAYS_FILE)
        with open(path) as f:
            self.assertIn('handover_delay_max_ms = 200', f.read())
        self.assertFalse(difftest.set_delays(directory, 200,
                                             lambda: restarts.append(1)))
        self.assertTrue(difftest.set_delays(directory, 0,
                                            lambda: restarts.append(1)))
        self.assertFalse(os.path.exists(path))
        self.assertEqual(2, len(restarts))


class NormaliseTest(base.TestCase):

    def test_a_physical_name_loses_its_random_end(self):
        self.assertEqual(
            'DELETE aborted (Task delete from TestResource "r10" '
            '[<stack>-r10-<short id>] Stack "<stack>" [<id>] Timed out)',
            dsl.normalise_text(
                'DELETE aborted (Task delete from TestResource "r10" '
                '[par-gen_1-ab12cd-r10-tmiknapusomt] Stack '
                '"par-gen_1-ab12cd" [0e8f1c2a-1111-2222-3333-444455556666] '
                'Timed out)', 'par-gen_1-ab12cd'))


class ReplacedEdgesTest(base.TestCase):

    def test_random_strings_and_their_id_readers_count_as_replaced(self):
        model = {'params': {'p': 'p0', 'enable': True}, 'next': 0,
                 'resources': {
                     'a': {'kind': 'test', 'deps': [], 'value': 'v'},
                     'rnd': {'kind': 'random', 'deps': [['get_attr', 'a']],
                             'value': 'v', 'length': 4},
                     'b': {'kind': 'test', 'deps': [['depends_on', 'rnd']],
                           'value': 'v'},
                     'c': {'kind': 'value', 'deps': [['get_resource', 'b']],
                           'value': 'v'},
                     'd': {'kind': 'value', 'deps': [['get_attr', 'c']],
                           'value': 'v'}}}
        self.assertEqual({('rnd', 'b')},
                         generate.replaced_edges(model, set()))
        self.assertEqual({('rnd', 'b'), ('b', 'c'), ('c', 'd')},
                         generate.replaced_edges(model, {'b'}))

    def test_edges_of_some_templates_only_vary(self):
        def model(deps):
            return {'resources': {
                'a': {'kind': 'test', 'deps': [], 'value': 'v'},
                'b': {'kind': 'test', 'deps': [], 'value': 'v'},
                'c': {'kind': 'test', 'deps': deps, 'value': 'v'}}}
        self.assertEqual({('b', 'c')}, generate.varying_edges([
            model([['get_attr', 'a']]),
            model([['get_attr', 'a'], ['depends_on', 'b']])]))


class TraversalCountTest(base.TestCase):

    @staticmethod
    def count(*actions):
        events = []
        for action in actions:
            events.append(('s', action + '_IN_PROGRESS', '', True))
            events.append(('a', action + '_COMPLETE', '', False))
        return checks.traversal_count(types.SimpleNamespace(events=events))

    def test_create_update_delete_are_three(self):
        self.assertEqual(3, self.count('CREATE', 'UPDATE', 'DELETE'))

    def test_a_stack_with_snapshots_is_deleted_by_heat_itself(self):
        self.assertEqual(2, self.count('CREATE', 'SNAPSHOT', 'UPDATE',
                                       'RESTORE', 'DELETE'))


class OrderProblemsTest(base.TestCase):
    """Order violations count as problems only where the clouds differ."""

    @staticmethod
    def outcome(*events):
        record = dsl.Record()
        record.edges = {('a', 'b')}
        record.events = [('s', 'CREATE_IN_PROGRESS', '', True)] + [
            (name, status, '', False) for name, status in events]
        return compare.Outcome(record, None)

    ORDERED = (('a', 'CREATE_IN_PROGRESS'), ('a', 'CREATE_COMPLETE'),
               ('b', 'CREATE_IN_PROGRESS'), ('b', 'CREATE_COMPLETE'))
    EARLY = (('a', 'CREATE_IN_PROGRESS'), ('b', 'CREATE_IN_PROGRESS'),
             ('a', 'CREATE_COMPLETE'), ('b', 'CREATE_COMPLETE'))
    VIOLATION = ('traversal 0 (CREATE): b began CREATE_IN_PROGRESS '
                 'before a completed')

    def problems(self, native, plugin, mistral=()):
        """The problems found: (native's, plugin's), or None if none."""
        scenario = types.SimpleNamespace(unordered=())
        self.patch(checks, 'mistral_problems',
                   lambda *a, **k: list(mistral))
        found = compare.differences(scenario, None, native, plugin)
        for difference in found:
            if difference.what == 'problems on one cloud':
                return difference.native, difference.plugin
        return None

    def test_a_violation_on_the_plugin_only_is_the_plugins(self):
        self.assertEqual(
            ([], [self.VIOLATION]),
            self.problems(self.outcome(*self.ORDERED),
                          self.outcome(*self.EARLY)))

    def test_a_violation_on_native_heat_only_is_native_heats(self):
        # The report labels each side: a native-only violation must not
        # read as the plugin's (seed 284's report did).
        self.assertEqual(
            ([self.VIOLATION], []),
            self.problems(self.outcome(*self.EARLY),
                          self.outcome(*self.ORDERED)))

    def test_what_mistral_ran_is_the_plugins(self):
        self.assertEqual(
            ([], ['an execution left RUNNING']),
            self.problems(self.outcome(*self.ORDERED),
                          self.outcome(*self.ORDERED),
                          mistral=['an execution left RUNNING']))

    def test_the_same_violation_on_both_clouds_is_heats_own_order(self):
        early = self.outcome(*self.EARLY)
        self.assertIsNone(self.problems(early, early))
