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

import types

import testtools
import yaml

from heat_mistral_engine.graph import model
from heat_mistral_engine.graph import operator_hooks
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.api import rows


def execution(eid, action, created):
    return types.SimpleNamespace(
        id=eid, created_at=created,
        description='Heat stack s (id) %s, traversal t' % action)


def definition():
    graph = model.TaskGraph(
        [model.Node(1, True, 'a'), model.Node(2, True, 'b'),
         model.Node(1, False, 'a')],
        [((1, True), (2, True)), ((1, True), (1, False))],
        kinds={((1, True), (2, True)): ('get_attr', 'hosted_on')})
    return workflow.to_yaml(workflow.build(graph, 'wf'))


def spec():
    return rows.spec_tasks(definition(), 'wf')


def task(name, state='SUCCESS', state_info=None, **more):
    return types.SimpleNamespace(name=name, state=state, started_at='t1',
                                 finished_at='t2', state_info=state_info,
                                 id='task-' + name, **more)


class ChooseExecutionTest(testtools.TestCase):

    def test_prefers_the_stack_action_over_a_same_second_tie(self):
        create = execution('c', 'CREATE', '2026-01-01 00:00:01')
        rollback = execution('r', 'ROLLBACK', '2026-01-01 00:00:01')
        self.assertIs(rollback, rows.choose_execution(
            [rollback, create], 'ROLLBACK'))
        self.assertIs(create, rows.choose_execution(
            [rollback, create], 'CREATE'))

    def test_newest_otherwise(self):
        old = execution('o', 'CREATE', '2026-01-01 00:00:01')
        new = execution('n', 'UPDATE', '2026-01-01 00:00:09')
        self.assertIs(new, rows.choose_execution([new, old], 'CHECK'))

    def test_none(self):
        self.assertIsNone(rows.choose_execution([], 'CREATE'))


class SpecTasksTest(testtools.TestCase):

    def test_the_named_workflows_tasks(self):
        self.assertEqual(['a', 'a_cleanup', 'b'], sorted(spec()))

    def test_none_for_a_missing_or_odd_definition(self):
        for text in (None, '', 'x: [', 'version: "2.0"',
                     yaml.safe_dump({'wf': {'tasks': ['a']}}),
                     yaml.safe_dump({'other': {'tasks': {}}})):
            self.assertIsNone(rows.spec_tasks(text, 'wf'), text)


class TaskRowsTest(testtools.TestCase):

    def test_rows_follow_the_definition_and_show_unstarted_tasks(self):
        done = task('a', 'ERROR', "{'reason': 'boom'}")
        found = rows.task_rows(spec(), [done])
        self.assertEqual(['a', 'a_cleanup', 'b'], [r['task'] for r in found])
        self.assertEqual(('ERROR', 'boom', 't1', 't2'),
                         (found[0]['state'], found[0]['state_info'],
                          found[0]['started_at'], found[0]['finished_at']))
        self.assertEqual(rows.NOT_STARTED, found[2]['state'])
        self.assertEqual('create/update', found[2]['action'])
        self.assertEqual('cleanup', found[1]['action'])

    def test_hook_tasks_are_labelled_with_their_output(self):
        hooks = operator_hooks.parse(
            'hooks: [{workflow: cmdb, when: after, actions: [create], '
            'resource_name: a}]')
        text = workflow.to_yaml(workflow.build(
            model.TaskGraph([model.Node(1, True, 'a')]), 'wf', hooks=hooks))
        hook = task('a__after__cmdb', published=(
            '{"hook_a__after__cmdb": [{"id": 7}], "node_1": "receipt"}'))
        found = {r['task']: r for r in rows.task_rows(
            rows.spec_tasks(text, 'wf'), [hook])}
        self.assertEqual(('a', 'hook after: cmdb', [{'id': 7}]),
                         (found['a__after__cmdb']['resource'],
                          found['a__after__cmdb']['action'],
                          found['a__after__cmdb']['output']))
        self.assertEqual('hook report',
                         found['a__after__cmdb__failed']['action'])
        self.assertEqual('hook report', found['a__hooks_done']['action'])
        self.assertNotIn('output', found['a'])
        # Only the hook's output of what the task published.
        self.assertNotIn('receipt', repr(found))

    def test_edges_carry_their_kinds(self):
        self.assertEqual(
            [{'from': 'a', 'to': 'a_cleanup', 'kinds': []},
             {'from': 'a', 'to': 'b', 'kinds': ['get_attr', 'hosted_on']}],
            rows.edge_rows(spec()))

    def test_without_a_definition_the_tasks_mistral_has(self):
        found = rows.bare_task_rows([
            task('b', 'RUNNING', created_at='2'),
            task('a', 'ERROR', "{'reason': 'boom'}", created_at='1')])
        self.assertEqual([('a', 'ERROR', 'boom', None),
                          ('b', 'RUNNING', None, None)],
                         [(r['task'], r['state'], r['state_info'],
                           r['resource']) for r in found])


class StateReasonTest(testtools.TestCase):
    """Only heat-engine's reason of a task's state_info is shown."""

    def reason(self, state_info):
        return rows.state_reason(task('a', 'ERROR', state_info))

    def test_heat_engines_reason(self):
        self.assertEqual('Resource CREATE failed: quota',
                         self.reason("{'reason': 'Resource CREATE failed: "
                                     "quota'}"))
        self.assertEqual('quota', self.reason('{"reason": "quota"}'))
        self.assertIsNone(self.reason(None))
        self.assertIsNone(self.reason(''))

    def test_long_reasons_are_cut(self):
        shown = self.reason(repr({'reason': 'x' * 10000}))
        self.assertEqual(rows.MAX_REASON + 3, len(shown))

    def test_mistrals_own_messages_are_hidden(self):
        # Mistral's texts can carry the data an expression saw (the
        # workflow input: the sealed token) or a traceback.
        for text in (
                "Can not evaluate Jinja expression [{{ _.x }}], "
                "data=[{'token': 'gAAAAAsealed', 'stack_id': 's'}]",
                'Failed to complete task [error=boom]:\nTraceback (most '
                'recent call last):\n  File "x.py"',
                "{'reason': 'ok', 'token': 'gAAAAAsealed'}",
                "{'reason': {'token': 'gAAAAAsealed'}}",
                "['gAAAAAsealed']",
                "{'reason': '" + 'x' * rows.MAX_STATE_INFO + "'}",
                "__import__('os').system('id')"):
            shown = self.reason(text)
            self.assertNotIn('gAAAA', shown)
            self.assertNotIn('Traceback', shown)
            self.assertNotIn('xxxx', shown)
            self.assertIn('task execution task-a', shown)
