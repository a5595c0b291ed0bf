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

"""Operator hooks woven into the compiled workflow (graph.hook_tasks)."""

import importlib.util
import subprocess
import sys

import testtools

from heat_mistral_engine.graph import hook_tasks
from heat_mistral_engine.graph import model
from heat_mistral_engine.graph import operator_hooks
from heat_mistral_engine.graph import workflow

HOOKS = operator_hooks.parse('''
hooks:
  - workflow: cmdb
    when: after
    actions: [create]
    resource_type: "Test"
    attributes: [output]
    timeout: 7
  - workflow: audit
    when: after
    actions: [create, update]
    resource_type: "Test"
  - workflow: quota
    when: before
    actions: [create]
    resource_name: "b"
  - workflow: gone
    when: after
    actions: [delete]
    resource_name: "*"
''', 'h.yaml')


def chain_graph(is_update=True):
    # a -> b -> c; a and c are Test resources.
    nodes = [model.Node(1, is_update, 'a', 'Test'),
             model.Node(2, is_update, 'b', 'Other'),
             model.Node(3, is_update, 'c', 'Test')]
    edges = [((1, is_update), (2, is_update)),
             ((2, is_update), (3, is_update))]
    return model.TaskGraph(nodes, edges)


class HookTasksTest(testtools.TestCase):

    def tasks(self, graph=None, plans=None, hooks=HOOKS,
              node_timeouts=True):
        graph = graph or chain_graph()
        if plans is None:
            plans = {n.key: {'action': 'create'} for n in graph}
        return workflow.build(graph, 'wf', hooks=hooks, plans=plans,
                              task_timeout=100,
                              node_timeouts=node_timeouts)['wf']['tasks']

    def test_no_hooks_no_change(self):
        self.assertEqual(
            workflow.build(chain_graph(), 'wf'),
            workflow.build(chain_graph(), 'wf', hooks=(), plans={}))

    def test_after_hooks_sit_between_the_node_and_its_successors(self):
        tasks = self.tasks()
        self.assertEqual(['a__after__cmdb'], tasks['a']['on-success'])
        self.assertEqual(['a__after__audit'],
                         tasks['a__after__cmdb']['on-success'])
        # b's before hook comes first in b's chain.
        self.assertEqual(['b__before__quota'],
                         tasks['a__after__audit']['on-success'])
        self.assertEqual(['b'], tasks['b__before__quota']['on-success'])
        self.assertEqual(['c'], tasks['b']['on-success'])

    def test_receipts_still_reach_the_successors(self):
        tasks = self.tasks()
        # b's node reads a's receipt from what a's node task published,
        # past a's hook tasks.
        self.assertEqual({'update:1': '{{ task("a").published.node_1 }}'},
                         tasks['b']['input']['data'])
        self.assertEqual('{{ task().result.node }}',
                         tasks['a']['publish']['node_1'])
        self.assertEqual('{{ task().result.get("hook") }}',
                         tasks['a']['publish']['resource_1'])
        self.assertNotIn('resource_2', tasks['b'].get('publish', {}))

    def test_after_hook_runs_only_for_its_actions(self):
        task = self.tasks()['a__after__cmdb']
        self.assertEqual('cmdb', task['workflow'])
        self.assertIn('in [\'create\'] else []', task['with-items'])
        # What a did, from what a's node task published.
        self.assertIn('[task("a").published.resource_1] if '
                      '(task("a").published.resource_1 or {})',
                      task['with-items'])
        self.assertEqual('{{ _.resource }}', task['input']['resource'])
        self.assertIn("['create', 'update']",
                      self.tasks()['a__after__audit']['with-items'])

    def test_hook_output_is_published(self):
        task = self.tasks()['a__after__cmdb']
        self.assertEqual({'hook_a__after__cmdb': '{{ task().result }}'},
                         task['publish'])

    def test_before_hook_gets_the_planned_action(self):
        task = self.tasks()['b__before__quota']
        self.assertEqual('quota', task['workflow'])
        self.assertNotIn('with-items', task)
        # The definition reads it from the execution's input...
        self.assertEqual('{{ _.hook_resources["update:2"] }}',
                         task['input']['resource'])
        # ...which heat-engine fills with the resource as data.
        plans = {n.key: {'action': 'create'} for n in chain_graph()}
        plans[(2, True)]['physical_resource_id'] = 'p2'
        self.assertEqual(
            {'update:2': {'stack_id': 'sid', 'stack_name': 's',
                          'name': 'b', 'type': 'Other', 'action': 'create',
                          'physical_resource_id': 'p2', 'attributes': {}}},
            hook_tasks.before_resources(chain_graph(), HOOKS, plans, 'sid',
                                        's'))
        # Not planned as a create: no before-create hook.
        tasks = self.tasks(plans={(2, True): {'action': 'update'}})
        self.assertNotIn('b__before__quota', tasks)
        self.assertEqual(['b'], tasks['a__after__audit']['on-success'])

    def test_hooks_keep_their_timeout_without_node_timeouts(self):
        tasks = self.tasks(node_timeouts=False)
        self.assertEqual(7, tasks['a__after__cmdb']['timeout'])
        self.assertEqual(100, tasks['a__after__audit']['timeout'])
        self.assertNotIn('timeout', tasks['a'])
        self.assertEqual(100, self.tasks()['a']['timeout'])

    def test_failures_and_timeouts_are_reported_to_heat(self):
        tasks = self.tasks()
        hook = tasks['a__after__cmdb']
        self.assertEqual(['a__after__cmdb__failed'], hook['on-error'])
        self.assertEqual(7, hook['timeout'])
        self.assertEqual(100, tasks['a__after__audit']['timeout'])
        report = tasks['a__after__cmdb__failed']
        self.assertEqual(hook_tasks.REPORT_ACTION, report['action'])
        self.assertEqual('{{ task("a__after__cmdb").state_info }}',
                         report['input']['error'])
        self.assertEqual(('cmdb', 'after', 7, 1, True),
                         tuple(report['input'][k] for k in (
                             'hook', 'when', 'timeout', 'resource_id',
                             'is_update')))
        self.assertNotIn('on-success', report)
        self.assertEqual(['fail'], report['on-complete'])
        self.assertEqual('{{ task("a__after__cmdb").result }}',
                         report['input']['details'])

    def test_last_node_completes_after_its_hooks(self):
        tasks = self.tasks()
        self.assertEqual(['c__after__cmdb'], tasks['c']['on-success'])
        self.assertEqual(['c__hooks_done'],
                         tasks['c__after__audit']['on-success'])
        done = tasks['c__hooks_done']
        self.assertEqual('{{ task("c").published.node_3 }}',
                         done['input']['receipt'])
        self.assertEqual('{{ task().result.node }}',
                         tasks['c']['publish']['node_3'])
        # a has successors: they, not a report, follow its hooks.
        self.assertNotIn('a__hooks_done', tasks)

    def test_join_moves_to_the_first_task_of_the_chain(self):
        nodes = [model.Node(1, True, 'x', 'Other'),
                 model.Node(2, True, 'y', 'Other'),
                 model.Node(3, True, 'b', 'Other')]
        graph = model.TaskGraph(nodes, [((1, True), (3, True)),
                                        ((2, True), (3, True))])
        tasks = self.tasks(graph)
        self.assertEqual('all', tasks['b__before__quota']['join'])
        self.assertNotIn('join', tasks['b'])
        self.assertEqual(['b__before__quota'], tasks['x']['on-success'])

    def test_cleanup_nodes_get_delete_hooks(self):
        tasks = self.tasks(chain_graph(False),
                           plans={(2, False): {'action': 'delete'}})
        self.assertIn('a_cleanup__after__gone', tasks)
        self.assertNotIn('a_cleanup__after__cmdb', tasks)
        self.assertIn("['delete']",
                      tasks['a_cleanup__after__gone']['with-items'])
        self.assertEqual('{{ task("c_cleanup").published.node_3_cleanup }}',
                         tasks['c_cleanup__hooks_done']['input']['receipt'])

    def test_tags_read_back(self):
        tasks = self.tasks()
        self.assertEqual(('after', 'a', 'cmdb'),
                         hook_tasks.hook_of(tasks['a__after__cmdb']))
        self.assertIsNone(hook_tasks.hook_of(tasks['a']))
        self.assertTrue(hook_tasks.is_report(tasks['a__after__cmdb__failed']))
        edges = [(a, b) for a, b, _k in workflow.edges(tasks)]
        self.assertIn(('a__after__audit', 'b__before__quota'), edges)

    def test_resource_names_like_hook_tasks_cannot_collide(self):
        nodes = [model.Node(1, True, 'a', 'Test'),
                 model.Node(2, True, 'a__after__cmdb', 'Other'),
                 model.Node(3, True, 'a_after_cmdb', 'Other')]
        tasks = self.tasks(model.TaskGraph(nodes), plans={})
        self.assertEqual('cmdb', tasks['a__after__cmdb']['workflow'])
        self.assertEqual('heat.run_node', tasks['a_after_cmdb_2']['action'])
        self.assertEqual('heat.run_node', tasks['a_after_cmdb']['action'])

    def test_hook_names_in_task_names(self):
        hooks = operator_hooks.parse(
            'hooks: [{name: q.1, workflow: w, when: before, actions: '
            '[create], resource_name: "*"}, {name: q_1, workflow: w, when: '
            'before, actions: [create], resource_name: "*"}, {name: "%s", '
            'workflow: w, when: before, actions: [create], resource_name: '
            '"*"}]' % ('h' * 60))
        tasks = self.tasks(model.TaskGraph([model.Node(1, True, 'a', 'T')]),
                           hooks=hooks)
        # q.1 is not plain, q_1 ends like a generated name: both are
        # numbered by their entry, as is the name too long to be kept.
        self.assertEqual(
            ['a', 'a__before__q_1_1', 'a__before__q_1_1__failed',
             'a__before__q_1_2', 'a__before__q_1_2__failed',
             'a__before__%s_3' % ('h' * 46),
             'a__before__%s_3__failed' % ('h' * 46)], list(tasks))

    def test_after_hook_attributes_for_the_token(self):
        found = hook_tasks.after_hook_attributes(chain_graph(), HOOKS)
        self.assertEqual({'update:1': ['output'], 'update:3': ['output']},
                         found)
        found = hook_tasks.after_hook_attributes(chain_graph(False), HOOKS)
        self.assertEqual({'cleanup:1': [], 'cleanup:2': [],
                          'cleanup:3': []}, found)

    def test_required_hooks_name_the_tasks_the_workflow_has(self):
        graph = chain_graph()
        plans = {n.key: {'action': 'create'} for n in graph}
        found = hook_tasks.required_hooks(graph, HOOKS, plans)
        tasks = self.tasks(graph, plans)
        self.assertEqual(['update:1', 'update:2', 'update:3'],
                         sorted(found))
        self.assertEqual(
            [{'when': 'before', 'hook': 'quota', 'workflow': 'quota',
              'task': 'b__before__quota', 'actions': ['create']}],
            found['update:2'])
        for wanted in found.values():
            for item in wanted:
                # Every task heat-engine will look for is in the workflow,
                # as a hook task of that hook.
                self.assertEqual(
                    (item['when'], item['task'].split('__')[0],
                     item['hook']),
                    hook_tasks.hook_of(tasks[item['task']]))
        self.assertEqual(
            [('after', 'cmdb', ['create']),
             ('after', 'audit', ['create', 'update'])],
            [(i['when'], i['hook'], i['actions'])
             for i in found['update:1']])

    def test_required_hooks_follow_the_plan(self):
        graph = chain_graph()
        # b exists already: its before-create hook does not apply.
        plans = {n.key: {'action': 'update'} for n in graph}
        found = hook_tasks.required_hooks(graph, HOOKS, plans)
        self.assertNotIn('update:2', found)
        self.assertEqual({}, hook_tasks.required_hooks(graph, (), plans))

    @testtools.skipUnless(importlib.util.find_spec('mistral'),
                          'needs mistral')
    def test_passes_mistrals_own_validation(self):
        text = workflow.to_yaml(workflow.build(
            chain_graph(), 'wf', hooks=HOOKS,
            plans={(2, True): {'action': 'create'}}))
        check = ('import sys; from mistral.lang import parser; '
                 'spec = parser.get_workflow_list_spec_from_yaml('
                 'sys.stdin.read()); '
                 'print(sorted(spec.get_workflows()[0].get_tasks()'
                 '["a__after__cmdb"].get_with_items()))')
        out = subprocess.run([sys.executable, '-c', check], input=text,
                             capture_output=True, text=True, check=True)
        self.assertEqual("['resource']", out.stdout.strip().splitlines()[-1])

    @testtools.skipUnless(importlib.util.find_spec('mistral'),
                          'needs mistral')
    def test_longest_names_pass_mistrals_own_validation(self):
        # 255-character names (Heat's longest), joins (whose names Mistral
        # limits to 208) on both resource and hook tasks, and hooks.
        long_a, long_b = 'a' * 255, '{{ 6*7 }}' + 'b' * 246
        nodes = [model.Node(1, True, 'x', 'T'), model.Node(2, True, 'y', 'T'),
                 model.Node(3, True, long_a, 'Test'),
                 model.Node(4, True, long_b, 'Test'),
                 model.Node(5, False, long_b, 'Test'),
                 model.Node(6, True, 'c' * 255, 'Other')]
        edges = [((1, True), (3, True)), ((2, True), (3, True)),
                 ((1, True), (4, True)), ((2, True), (4, True)),
                 ((1, True), (6, True)), ((2, True), (6, True))]
        hooks = operator_hooks.parse(
            'hooks: [{name: "%s", workflow: w, when: before, actions: '
            '[create], resource_type: Test}]' % ('h' * 255))
        definition = workflow.build(
            model.TaskGraph(nodes, edges), 'wf', hooks=hooks + HOOKS,
            plans={n.key: {'action': 'create'} for n in nodes})
        joins = [n for n, t in definition['wf']['tasks'].items()
                 if t.get('join')]
        self.assertEqual(3, len(joins))
        check = ('import sys; from mistral.lang import parser; '
                 'spec = parser.get_workflow_list_spec_from_yaml('
                 'sys.stdin.read()); '
                 'print(len(spec.get_workflows()[0].get_tasks()))')
        out = subprocess.run([sys.executable, '-c', check],
                             input=workflow.to_yaml(definition),
                             capture_output=True, text=True)
        self.assertEqual(0, out.returncode, out.stderr[-2000:])
        self.assertEqual(str(len(definition['wf']['tasks'])),
                         out.stdout.strip().splitlines()[-1])
