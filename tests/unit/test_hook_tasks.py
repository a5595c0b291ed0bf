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
                              stack_name='s', task_timeout=100,
                              node_timeouts=node_timeouts)['wf']['tasks']

    def test_no_hooks_no_change(self):
        self.assertEqual(
            workflow.build(chain_graph(), 'wf'),
            workflow.build(chain_graph(), 'wf', hooks=(), plans={}))

    def test_after_hooks_sit_between_the_node_and_its_successors(self):
        tasks = self.tasks()
        self.assertEqual(['a_after_cmdb'], tasks['a']['on-success'])
        self.assertEqual(['a_after_audit'],
                         tasks['a_after_cmdb']['on-success'])
        # b's before hook comes first in b's chain.
        self.assertEqual(['b_before_quota'],
                         tasks['a_after_audit']['on-success'])
        self.assertEqual(['b'], tasks['b_before_quota']['on-success'])
        self.assertEqual(['c'], tasks['b']['on-success'])

    def test_receipts_still_reach_the_successors(self):
        tasks = self.tasks()
        # b's node reads a's receipt from the context the hooks pass on.
        self.assertEqual({'update:1': '{{ _.node_1 }}'},
                         tasks['b']['input']['data'])
        self.assertEqual('{{ task().result.node }}',
                         tasks['a']['publish']['node_1'])
        self.assertEqual('{{ task().result.get("hook") }}',
                         tasks['a']['publish']['resource_1'])
        self.assertNotIn('resource_2', tasks['b'].get('publish', {}))

    def test_after_hook_runs_only_for_its_actions(self):
        task = self.tasks()['a_after_cmdb']
        self.assertEqual('cmdb', task['workflow'])
        self.assertIn('in [\'create\'] else []', task['with-items'])
        self.assertIn('_.resource_1', task['with-items'])
        self.assertEqual('{{ _.resource }}', task['input']['resource'])
        self.assertIn("['create', 'update']",
                      self.tasks()['a_after_audit']['with-items'])

    def test_hook_output_is_published(self):
        task = self.tasks()['a_after_cmdb']
        self.assertEqual({'hook_a_after_cmdb': '{{ task().result }}'},
                         task['publish'])

    def test_before_hook_gets_the_planned_action(self):
        task = self.tasks()['b_before_quota']
        self.assertEqual('quota', task['workflow'])
        self.assertNotIn('with-items', task)
        resource = task['input']['resource']
        self.assertEqual(('b', 'Other', 'create', 's'),
                         (resource['name'], resource['type'],
                          resource['action'], resource['stack_name']))
        # Not planned as a create: no before-create hook.
        tasks = self.tasks(plans={(2, True): {'action': 'update'}})
        self.assertNotIn('b_before_quota', tasks)
        self.assertEqual(['b'], tasks['a_after_audit']['on-success'])

    def test_hooks_keep_their_timeout_without_node_timeouts(self):
        tasks = self.tasks(node_timeouts=False)
        self.assertEqual(7, tasks['a_after_cmdb']['timeout'])
        self.assertEqual(100, tasks['a_after_audit']['timeout'])
        self.assertNotIn('timeout', tasks['a'])
        self.assertEqual(100, self.tasks()['a']['timeout'])

    def test_failures_and_timeouts_are_reported_to_heat(self):
        tasks = self.tasks()
        hook = tasks['a_after_cmdb']
        self.assertEqual(['a_after_cmdb_failed'], hook['on-error'])
        self.assertEqual(7, hook['timeout'])
        self.assertEqual(100, tasks['a_after_audit']['timeout'])
        report = tasks['a_after_cmdb_failed']
        self.assertEqual(hook_tasks.REPORT_ACTION, report['action'])
        self.assertEqual('{{ task("a_after_cmdb").state_info }}',
                         report['input']['error'])
        self.assertEqual(('cmdb', 'after', 7, 1, True),
                         tuple(report['input'][k] for k in (
                             'hook', 'when', 'timeout', 'resource_id',
                             'is_update')))
        self.assertNotIn('on-success', report)
        self.assertEqual(['fail'], report['on-complete'])
        self.assertEqual('{{ task("a_after_cmdb").result }}',
                         report['input']['details'])

    def test_last_node_completes_after_its_hooks(self):
        tasks = self.tasks()
        self.assertEqual(['c_after_cmdb'], tasks['c']['on-success'])
        self.assertEqual(['c_hooks_done'],
                         tasks['c_after_audit']['on-success'])
        done = tasks['c_hooks_done']
        self.assertEqual('{{ _.node_3 }}', done['input']['receipt'])
        self.assertEqual('{{ task().result.node }}',
                         tasks['c']['publish']['node_3'])
        # a has successors: they, not a report, follow its hooks.
        self.assertNotIn('a_hooks_done', tasks)

    def test_join_moves_to_the_first_task_of_the_chain(self):
        nodes = [model.Node(1, True, 'x', 'Other'),
                 model.Node(2, True, 'y', 'Other'),
                 model.Node(3, True, 'b', 'Other')]
        graph = model.TaskGraph(nodes, [((1, True), (3, True)),
                                        ((2, True), (3, True))])
        tasks = self.tasks(graph)
        self.assertEqual('all', tasks['b_before_quota']['join'])
        self.assertNotIn('join', tasks['b'])
        self.assertEqual(['b_before_quota'], tasks['x']['on-success'])

    def test_cleanup_nodes_get_delete_hooks(self):
        tasks = self.tasks(chain_graph(False),
                           plans={(2, False): {'action': 'delete'}})
        self.assertIn('a_cleanup_after_gone', tasks)
        self.assertNotIn('a_cleanup_after_cmdb', tasks)
        self.assertIn("['delete']",
                      tasks['a_cleanup_after_gone']['with-items'])
        self.assertEqual('{{ _.node_3_cleanup }}',
                         tasks['c_cleanup_hooks_done']['input']['receipt'])

    def test_tags_read_back(self):
        tasks = self.tasks()
        self.assertEqual(('after', 'a', 'cmdb'),
                         hook_tasks.hook_of(tasks['a_after_cmdb']))
        self.assertIsNone(hook_tasks.hook_of(tasks['a']))
        self.assertTrue(hook_tasks.is_report(tasks['a_after_cmdb_failed']))
        edges = [(a, b) for a, b, _k in workflow.edges(tasks)]
        self.assertIn(('a_after_audit', 'b_before_quota'), edges)

    def test_name_collisions(self):
        nodes = [model.Node(1, True, 'a', 'Test'),
                 model.Node(2, True, 'a_after_cmdb', 'Other')]
        tasks = self.tasks(model.TaskGraph(nodes), plans={})
        self.assertIn('a_after_cmdb_2', tasks)
        self.assertEqual('heat.run_node', tasks['a_after_cmdb']['action'])

    def test_after_hook_attributes_for_the_token(self):
        found = hook_tasks.after_hook_attributes(chain_graph(), HOOKS)
        self.assertEqual({'update:1': ['output'], 'update:3': ['output']},
                         found)
        found = hook_tasks.after_hook_attributes(chain_graph(False), HOOKS)
        self.assertEqual({'cleanup:1': [], 'cleanup:2': [],
                          'cleanup:3': []}, found)

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
                 '["a_after_cmdb"].get_with_items()))')
        out = subprocess.run([sys.executable, '-c', check], input=text,
                             capture_output=True, text=True, check=True)
        self.assertEqual("['resource']", out.stdout.strip().splitlines()[-1])
