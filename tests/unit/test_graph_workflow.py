import importlib.util
import subprocess
import sys

import testtools
import yaml

from heat_mistral_engine.graph import model
from heat_mistral_engine.graph import workflow


def node(rid, name, is_update=True):
    return model.Node(resource_id=rid, is_update=is_update,
                      resource_name=name)


def diamond():
    # a -> b, a -> c, b -> d, c -> d
    return model.TaskGraph(
        [node(1, 'a'), node(2, 'b'), node(3, 'c'), node(4, 'd')],
        [((1, True), (2, True)), ((1, True), (3, True)),
         ((2, True), (4, True)), ((3, True), (4, True))])


class WorkflowBuildTest(testtools.TestCase):

    def tasks(self, graph, **kwargs):
        definition = workflow.build(graph, 'wf', **kwargs)
        self.assertEqual('2.0', definition['version'])
        wf = definition['wf']
        self.assertEqual('direct', wf['type'])
        self.assertEqual(['stack_id', 'traversal', 'token'], wf['input'])
        return wf['tasks']

    def test_one_task_per_node_running_the_heat_action(self):
        tasks = self.tasks(diamond())
        self.assertEqual(['a', 'b', 'c', 'd'], list(tasks))
        for task in tasks.values():
            self.assertEqual('heat.run_node', task['action'])

    def test_edges_become_on_success_and_joins(self):
        tasks = self.tasks(diamond())
        self.assertEqual(['b', 'c'], tasks['a']['on-success'])
        self.assertEqual(['d'], tasks['b']['on-success'])
        self.assertNotIn('on-success', tasks['d'])
        self.assertEqual('all', tasks['d']['join'])
        for name in 'abc':
            self.assertNotIn('join', tasks[name])

    def test_receipts_flow_from_every_predecessor(self):
        tasks = self.tasks(diamond())
        self.assertEqual({'node_1': '{{ task().result.node }}'},
                         tasks['a']['publish'])
        self.assertEqual({}, tasks['a']['input']['data'])
        self.assertEqual({'update:2': '{{ _.node_2 }}',
                          'update:3': '{{ _.node_3 }}'},
                         tasks['d']['input']['data'])
        # Nothing depends on d: it publishes nothing.
        self.assertNotIn('publish', tasks['d'])

    def test_mixed_predecessors_are_keyed_by_kind(self):
        # A replacement: the old row's cleanup (1, False) waits for the
        # new row (2, True); b's update waits for both.
        graph = model.TaskGraph(
            [node(1, 'a', False), node(2, 'a2'), node(3, 'b')],
            [((2, True), (1, False)), ((1, False), (3, True)),
             ((2, True), (3, True))])
        tasks = self.tasks(graph)
        self.assertEqual({'node_1_cleanup': '{{ task().result.node }}'},
                         tasks['a_cleanup']['publish'])
        self.assertEqual({'cleanup:1': '{{ _.node_1_cleanup }}',
                          'update:2': '{{ _.node_2 }}'},
                         tasks['b']['input']['data'])

    def test_edge_kinds_are_tags_read_back_by_edges(self):
        graph = model.TaskGraph(
            [node(1, 'a'), node(2, 'b'), node(3, 'c')],
            [((1, True), (2, True)), ((1, True), (3, True))],
            kinds={((1, True), (2, True)): ('get_attr', 'hosted_on')})
        tasks = self.tasks(graph)
        self.assertEqual(['kinds:b:get_attr,hosted_on'], tasks['a']['tags'])
        self.assertNotIn('tags', tasks['b'])
        # Through YAML, as workflow show reads the stored definition.
        tasks = yaml.safe_load(workflow.to_yaml(
            workflow.build(graph, 'wf')))['wf']['tasks']
        self.assertEqual([('a', 'b', ['get_attr', 'hosted_on']),
                          ('a', 'c', [])], workflow.edges(tasks))

    @testtools.skipUnless(importlib.util.find_spec('mistral'),
                          'needs mistral (the devcloud venv has it; '
                          'tox -e py3 does not)')
    def test_tags_pass_mistrals_own_validation(self):
        graph = model.TaskGraph(
            [node(1, 'a'), node(2, 'b')], [((1, True), (2, True))],
            kinds={((1, True), (2, True)): ('get_resource', 'hosted_on')})
        text = workflow.to_yaml(workflow.build(graph, 'wf'))
        # Mistral's and Heat's options clash in one process: ask Mistral's
        # parser in a child process.
        check = ('import sys; from mistral.lang import parser; '
                 'spec = parser.get_workflow_list_spec_from_yaml('
                 'sys.stdin.read()); '
                 'print(spec.get_workflows()[0].get_tasks()["a"].get_tags())')
        out = subprocess.run([sys.executable, '-c', check], input=text,
                             capture_output=True, text=True, check=True)
        self.assertEqual("['kinds:b:get_resource,hosted_on']",
                         out.stdout.strip().splitlines()[-1])

    def test_action_input_names_the_node(self):
        inp = self.tasks(diamond())['c']['input']
        self.assertEqual(3, inp['resource_id'])
        self.assertIs(True, inp['is_update'])
        self.assertEqual('c', inp['resource_name'])
        self.assertEqual('{{ _.token }}', inp['token'])
        self.assertEqual('{{ _.stack_id }}', inp['stack_id'])
        self.assertEqual('{{ _.traversal }}', inp['traversal'])

    def test_cleanup_tasks_hand_over_receipts(self):
        # Delete: b (cleanup) before a (cleanup), as Heat reverses edges.
        graph = model.TaskGraph(
            [node(1, 'a', False), node(2, 'b', False)],
            [((2, False), (1, False))])
        tasks = self.tasks(graph)
        self.assertEqual(['b_cleanup', 'a_cleanup'], list(tasks))
        self.assertEqual(['a_cleanup'], tasks['b_cleanup']['on-success'])
        # a's cleanup must prove b's is done: b's receipt, no node data.
        self.assertEqual({'cleanup:2': '{{ _.node_2_cleanup }}'},
                         tasks['a_cleanup']['input']['data'])
        self.assertEqual({'node_2_cleanup': '{{ task().result.node }}'},
                         tasks['b_cleanup']['publish'])
        self.assertNotIn('publish', tasks['a_cleanup'])
        self.assertIs(False, tasks['a_cleanup']['input']['is_update'])

    def test_task_timeout(self):
        tasks = self.tasks(diamond(), task_timeout=3600)
        self.assertEqual({3600}, {t['timeout'] for t in tasks.values()})
        self.assertNotIn('timeout', self.tasks(diamond())['a'])

    def test_node_timeouts_can_be_left_out(self):
        tasks = self.tasks(diamond(), task_timeout=3600, node_timeouts=False)
        self.assertEqual({'a', 'b', 'c', 'd'}, set(tasks))
        self.assertEqual([], [n for n, t in tasks.items() if 'timeout' in t])

    def test_empty_graph_is_refused(self):
        self.assertRaises(ValueError, workflow.build, model.TaskGraph([]),
                          'wf')

    def test_yaml_round_trip(self):
        definition = workflow.build(diamond(), 'wf', description='d')
        text = workflow.to_yaml(definition)
        self.assertEqual(definition, yaml.safe_load(text))
        self.assertLess(text.index('  a:'), text.index('  d:'))

    @testtools.skipUnless(hasattr(yaml, 'CSafeDumper'), 'needs libyaml')
    def test_libyaml_writes_what_pure_python_writes(self):
        # Names, descriptions and expressions with characters YAML quotes.
        graph = model.TaskGraph(
            [node(1, "db: 'main' #1"), node(2, 'web\u00e9 & *x'),
             node(3, '@cleanup', is_update=False)],
            [((1, True), (2, True)), ((2, True), (3, False))])
        definition = workflow.build(
            graph, 'wf', description='Stack "s": {{ x }} \u2013 ' + 'y' * 300)
        self.assertIs(yaml.CSafeDumper, workflow._DUMPER)
        self.assertEqual(workflow.to_yaml(definition, yaml.SafeDumper),
                         workflow.to_yaml(definition))

    def test_no_yaql_expressions(self):
        # Mistral's YAQL parser is not thread-safe; only Jinja is used.
        text = workflow.to_yaml(workflow.build(diamond(), 'wf'))
        self.assertNotIn('<%', text)
        self.assertIn('{{ task().result.node }}', text)


class TaskNamesTest(testtools.TestCase):

    def test_unsafe_characters_and_collisions(self):
        graph = model.TaskGraph([
            node(1, 'my server'), node(2, 'my:server'),
            node(3, 'fail'), node(4, 'x', False), node(5, '***')])
        names = workflow.task_names(graph)
        self.assertEqual('my_server', names[(1, True)])
        self.assertEqual('my_server_2', names[(2, True)])
        self.assertEqual('fail_3', names[(3, True)])
        self.assertEqual('x_cleanup', names[(4, False)])
        self.assertEqual('resource', names[(5, True)])
        self.assertEqual(5, len(set(names.values())))

    def test_workflow_name_names_the_stack(self):
        self.assertEqual('heat_stack_abc', workflow.workflow_name('abc'))
