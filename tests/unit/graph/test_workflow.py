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

import importlib.util
import json
import random
import re
import subprocess
import sys

import testtools
import yaml

from heat_mistral_engine.graph import model
from heat_mistral_engine.graph import naming
from heat_mistral_engine.graph import operator_hooks
from heat_mistral_engine.graph import workflow

# Mistral's transitions and task("...") expressions: what a name may hold.
SAFE_TASK_NAME = r'\A[A-Za-z0-9_-]+\Z'
# Hooks on every resource, with names that need numbering, so that hook
# task names are generated too.
HOOKS = operator_hooks.parse('''
hooks:
  - {name: q.x, workflow: w, when: before, actions: [create, delete],
     resource_name: "*"}
  - {name: q_x, workflow: w, when: after, actions: [create],
     resource_name: "*"}
  - {name: audit_1, workflow: w, when: after, actions: [delete],
     resource_type: "*"}
''')
# Pieces of names: expressions of both languages, suffixes the compiler
# generates, engine commands, characters outside Mistral's safe set.
_PIECES = ('{{ 6*7 }}', '{%', '%}', '{% raw %}', '<% $.token %>', '<%',
           '%>', '_5', '_cleanup', '__before__', '__failed', '_', '__',
           '-', 'fail', 'noop', ' ', ':', '"', "'", '.', 'a', 'B', '7',
           '\u00e9', '\u4e2d', '\U0001f600', '\n', '\\', '[', '}')


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
        self.assertEqual(['stack_id', 'traversal', 'token',
                          {'hook_resources': {}}], wf['input'])
        return wf['tasks']

    def test_one_task_per_node_running_the_heat_action(self):
        tasks = self.tasks(diamond())
        self.assertEqual(['a', 'b', 'c', 'd'], list(tasks))
        for task in tasks.values():
            self.assertEqual('heat.run_node', task['action'])

    def test_the_execution_output_holds_no_receipts(self):
        # Mistral's default output is the whole final context, every
        # receipt: over its size limit, the execution could not end.
        wf = workflow.build(diamond(), 'wf')['wf']
        expected = {'stack_id': '{{ _.stack_id }}',
                    'traversal': '{{ _.traversal }}'}
        self.assertEqual(expected, wf['output'])
        self.assertEqual(expected, wf['output-on-error'])

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
        self.assertEqual({'update:2': '{{ task("b").published.node_2 }}',
                          'update:3': '{{ task("c").published.node_3 }}'},
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
        self.assertEqual(
            {'cleanup:1': '{{ task("a_cleanup").published.node_1_cleanup }}',
             'update:2': '{{ task("a2").published.node_2 }}'},
            tasks['b']['input']['data'])

    def test_edge_kinds_are_tags_read_back_by_edges(self):
        graph = model.TaskGraph(
            [node(1, 'a'), node(2, 'b'), node(3, 'c')],
            [((1, True), (2, True)), ((1, True), (3, True))],
            kinds={((1, True), (2, True)): ('get_attr', 'hosted_on')})
        tasks = self.tasks(graph)
        self.assertEqual([workflow.NO_CONTEXT_TAG,
                          'kinds:b:get_attr,hosted_on'], tasks['a']['tags'])
        self.assertEqual([workflow.NO_CONTEXT_TAG], tasks['b']['tags'])
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
        self.assertEqual(
            "['%s', 'kinds:b:get_resource,hosted_on']"
            % workflow.NO_CONTEXT_TAG, out.stdout.strip().splitlines()[-1])

    def test_node_tasks_read_receipts_from_their_predecessors_rows(self):
        # Each reads, with task(), what a task right before it published,
        # and nothing from the context, so each is tagged to pass on
        # nothing (mistral.patches.own_task_context).
        tasks = self.tasks(diamond())
        read = re.compile(r'^\{\{ task\("([a-z]+)"\)\.published\.'
                          r'(node_[0-9]+) \}\}$')
        for name, task in tasks.items():
            self.assertEqual([workflow.NO_CONTEXT_TAG], task['tags'], name)
            self.assertNotIn(workflow.OWN_CONTEXT_TAG, task['tags'], name)
            for expression in task['input']['data'].values():
                found = read.match(expression)
                self.assertIsNotNone(found, expression)
                other, variable = found.groups()
                self.assertIn(variable, tasks[other]['publish'])
                self.assertIn(name, tasks[other]['on-success'])
            self.assertNotIn('{{ _.node', json.dumps(task['input']), name)

    def test_action_input_names_the_node_by_id_only(self):
        inp = self.tasks(diamond())['c']['input']
        self.assertEqual({'stack_id', 'traversal', 'token', 'resource_id',
                          'is_update', 'data'}, set(inp))
        self.assertEqual(3, inp['resource_id'])
        self.assertIs(True, inp['is_update'])
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
        self.assertEqual(
            {'cleanup:2': '{{ task("b_cleanup").published.node_2_cleanup }}'},
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

    def test_plain_names_are_kept(self):
        graph = model.TaskGraph([
            node(1, 'web'), node(2, 'my_server-1'), node(3, '0'),
            node(4, 'web', False), node(5, 'cleanup'), node(6, 'x' * 120)])
        names = workflow.task_names(graph)
        self.assertEqual({(1, True): 'web', (2, True): 'my_server-1',
                          (3, True): '0', (4, False): 'web_cleanup',
                          (5, True): 'cleanup', (6, True): 'x' * 120},
                         names)

    def test_other_names_get_the_resource_id(self):
        graph = model.TaskGraph([
            node(1, 'my server'), node(2, 'my:server'), node(3, 'fail'),
            node(4, '***'), node(5, 'x_5'), node(6, 'x_cleanup'),
            node(7, 'x{{ 6*7 }}'), node(8, 'a', False), node(9, 'a', False),
            node(10, '\u00e9t\u00e9'), node(11, 'x' * 121),
            node(12, 'a__b'), node(13, '_a')])
        names = workflow.task_names(graph)
        self.assertEqual(
            {(1, True): 'my_server_1', (2, True): 'my_server_2',
             (3, True): 'fail_3', (4, True): 'resource_4',
             (5, True): 'x_5_5', (6, True): 'x_cleanup_6',
             (7, True): 'x_6_7_7', (8, False): 'a_8_cleanup',
             (9, False): 'a_9_cleanup', (10, True): 't_10',
             (11, True): 'x' * 117 + '_11', (12, True): 'a_b_12',
             (13, True): 'a_13'},
            names)

    def test_long_names_keep_within_the_limit(self):
        rid = 2 ** 63 - 1
        graph = model.TaskGraph([node(rid, 'y' * 255, False),
                                 node(1, '\u00e9' + 'y' * 254)])
        names = workflow.task_names(graph)
        self.assertEqual('y' * 100 + '_%d_cleanup' % rid,
                         names[(rid, False)])
        self.assertEqual(naming.NODE_MAX, len(names[(rid, False)]))
        self.assertEqual('y' * 117 + '_1', names[(1, True)])

    def test_generated_task_names(self):
        # Random graphs of names built to collide, look generated, hold
        # expressions or be too long: task names are unique, short and
        # safe, and the definition holds no user text where Mistral
        # would evaluate it.
        rnd = random.Random(28)
        for _graph in range(2000):
            nodes, user_text = random_nodes(rnd)
            kept = [n for n in nodes if rnd.random() < 0.5]
            edges = [((a.resource_id, a.is_update), (b.resource_id,
                                                     b.is_update))
                     for a, b in zip(kept, kept[1:])]
            graph = model.TaskGraph(nodes, edges)
            definition = compile_with_hooks(graph, user_text[0])
            tasks = definition['wf']['tasks']
            names = list(tasks)
            self.assertEqual(len(names), len(set(names)))
            self.assertEqual(len(nodes), len(workflow.task_names(graph)))
            self.assertEqual(
                len(nodes),
                sum(t.get('action') == workflow.ACTION
                    for t in tasks.values()))
            for name in names:
                self.assertLessEqual(len(name), naming.MAX_TASK_NAME)
                self.assertRegex(name, SAFE_TASK_NAME)
                self.assertNotIn(name, naming.RESERVED)
            assert_no_user_text(self, definition, user_text)
            # Task names aside, the definition does not depend on the
            # names at all: it is the one of the same graph with
            # neutral names.
            neutral = model.TaskGraph(
                [model.Node(n.resource_id, n.is_update, 'n%d' %
                            n.resource_id, 'T') for n in nodes], edges)
            self.assertEqual(
                names_masked(graph, definition),
                names_masked(neutral, compile_with_hooks(neutral, 's')))

    def test_workflow_name_names_the_stack(self):
        self.assertEqual('heat_stack_abc', workflow.workflow_name('abc'))


def random_name(rnd):
    """A resource name Heat accepts: any Unicode but "/", <= 255 long."""
    choice = rnd.random()
    if choice < 0.05:
        return ''.join(rnd.choice('ab_') for _ in range(255))
    if choice < 0.1:
        return rnd.choice(('a', 'a_1', 'fail', '_', ''))
    parts = []
    for _ in range(rnd.randint(1, 8)):
        if rnd.random() < 0.3:
            parts.append(chr(rnd.choice((rnd.randint(32, 0x2fff),
                                         rnd.randint(0x1f300, 0x1f6ff)))))
        else:
            parts.append(rnd.choice(_PIECES))
    name = ''.join(parts).replace('/', '')
    if rnd.random() < 0.1:
        name = (name * 255)[:rnd.choice((120, 121, 128, 208, 255))]
    return name


def random_nodes(rnd):
    """Nodes with colliding names, and the user text that they hold."""
    names = [random_name(rnd) for _ in range(rnd.randint(1, 12))]
    nodes = []
    for rid in rnd.sample(range(1, 40), rnd.randint(1, 14)):
        name = rnd.choice(names)
        # Names that look like another node's generated task name.
        if rnd.random() < 0.15 and nodes:
            name = '%s_%d' % (nodes[-1].resource_name, rid)
        nodes.append(model.Node(rid, rnd.random() < 0.6, name,
                                rnd.choice(('T', 'OS::{{ x }}'))))
    # One update and one cleanup node at most per resource row.
    unique = {n.key: n for n in nodes}
    nodes = list(unique.values())
    texts = {n.resource_name for n in nodes} | {n.resource_type
                                                for n in nodes}
    return nodes, sorted(texts)


def compile_with_hooks(graph, stack_name):
    return workflow.build(
        graph, 'wf', description='Heat stack %s' % stack_name, hooks=HOOKS,
        task_timeout=60,
        plans={n.key: {'action': 'create' if n.is_update else 'delete'}
               for n in graph})


def assert_no_user_text(test, definition, user_text):
    """No user string holding an expression, outside the description.

    (Shorter pieces, such as ".", are in compiler text too: that the
    definition holds none of them is what ``names_masked`` shows.)
    """
    wf = dict(definition['wf'])
    wf.pop('description', None)
    text = workflow.to_yaml({'version': '2.0', 'wf': wf})
    as_json = json.dumps(wf)
    for value in user_text:
        if not any(opener in value for opener in ('{{', '{%', '<%')):
            continue
        test.assertNotIn(value, text)
        test.assertNotIn(json.dumps(value)[1:-1], as_json)
    for expression in ('6*7', '$.token', '{%', '<%'):
        test.assertNotIn(expression, text)


def names_masked(graph, definition):
    """The definition, without description, with task names replaced.

    Each task name becomes one made from its node's key (hook tasks keep
    what follows the node's task name); lists are sorted, as their order
    follows the resource names.
    """
    names = workflow.task_names(graph)
    canonical = {}
    tasks = definition['wf']['tasks']
    for key, name in names.items():
        for task in tasks:
            if task == name or task.startswith(name + '__'):
                canonical[task] = 'T%d%s%s' % (key[0], 'u' if key[1] else 'c',
                                               task[len(name):])

    def canon(name):
        return canonical.get(name, name)

    def tag(text):
        prefix, _sep, rest = text.partition(':')
        parts = rest.split(':')
        # operator-hook:WHEN:TASK:HOOK, operator-hook-report:TASK,
        # kinds:TASK:KINDS
        at = 1 if prefix == 'operator-hook' else 0
        parts[at] = canon(parts[at])
        return ':'.join([prefix] + parts)

    def expression(value):
        # Every string of an input (the data input's included) or of
        # with-items.
        if isinstance(value, dict):
            return {k: expression(v) for k, v in value.items()}
        if not isinstance(value, str):
            return value
        return re.sub(r'task\("([^"]*)"\)',
                      lambda m: 'task("%s")' % canon(m.group(1)), value)

    masked = {}
    for name, task in tasks.items():
        task = dict(task)
        for clause in ('on-success', 'on-error', 'on-complete'):
            if clause in task:
                task[clause] = [canon(n) for n in task[clause]]
        if 'publish' in task:
            task['publish'] = {
                ('hook_' + canon(k[5:]) if k.startswith('hook_') else k): v
                for k, v in task['publish'].items()}
        if 'tags' in task:
            task['tags'] = [tag(t) for t in task['tags']]
        task['input'] = expression(task['input'])
        if 'with-items' in task:
            task['with-items'] = expression(task['with-items'])
        masked[canon(name)] = task
    wf = dict(definition['wf'], tasks=masked)
    wf.pop('description', None)
    return _sorted_lists(wf)


def _sorted_lists(value):
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_sorted_lists(v) for v in value), key=json.dumps)
    return value
