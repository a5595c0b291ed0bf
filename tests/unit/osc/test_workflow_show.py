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
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.osc import workflow_show


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


class ChooseExecutionTest(testtools.TestCase):

    def test_prefers_the_stack_action_over_a_same_second_tie(self):
        create = execution('c', 'CREATE', '2026-01-01 00:00:01')
        rollback = execution('r', 'ROLLBACK', '2026-01-01 00:00:01')
        self.assertIs(rollback, workflow_show.choose_execution(
            [rollback, create], 'ROLLBACK'))
        self.assertIs(create, workflow_show.choose_execution(
            [rollback, create], 'CREATE'))

    def test_newest_otherwise(self):
        old = execution('o', 'CREATE', '2026-01-01 00:00:01')
        new = execution('n', 'UPDATE', '2026-01-01 00:00:09')
        self.assertIs(new, workflow_show.choose_execution([new, old],
                                                          'CHECK'))

    def test_none(self):
        self.assertIsNone(workflow_show.choose_execution([], 'CREATE'))


class TaskRowsTest(testtools.TestCase):

    def test_rows_follow_the_definition_and_show_unstarted_tasks(self):
        done = types.SimpleNamespace(name='a', state='ERROR',
                                     started_at='t1', finished_at='t2',
                                     state_info="{'reason': 'boom'}")
        rows = workflow_show.task_rows(definition(), 'wf', [done])
        self.assertEqual(['a', 'a_cleanup', 'b'], [r['task'] for r in rows])
        self.assertEqual('ERROR', rows[0]['state'])
        self.assertIn('boom', rows[0]['state_info'])
        self.assertEqual(workflow_show.NOT_STARTED, rows[2]['state'])
        self.assertEqual('create/update', rows[2]['action'])
        self.assertEqual('cleanup', rows[1]['action'])

    def test_hook_tasks_are_labelled_with_their_output(self):
        from heat_mistral_engine.graph import operator_hooks
        hooks = operator_hooks.parse(
            'hooks: [{workflow: cmdb, when: after, actions: [create], '
            'resource_name: a}]')
        text = workflow.to_yaml(workflow.build(
            model.TaskGraph([model.Node(1, True, 'a')]), 'wf', hooks=hooks))
        hook = types.SimpleNamespace(
            name='a__after__cmdb', state='SUCCESS', started_at='t1',
            finished_at='t2', state_info=None,
            published='{"hook_a__after__cmdb": [{"id": 7}]}')
        rows = {r['task']: r for r in workflow_show.task_rows(
            text, 'wf', [hook])}
        self.assertEqual(('a', 'hook after: cmdb', [{'id': 7}]),
                         (rows['a__after__cmdb']['resource'],
                          rows['a__after__cmdb']['action'],
                          rows['a__after__cmdb']['output']))
        self.assertEqual('hook report',
                         rows['a__after__cmdb__failed']['action'])
        self.assertEqual('hook report', rows['a__hooks_done']['action'])
        self.assertNotIn('output', rows['a'])

    def test_dot_colours_by_state(self):
        text = definition()
        rows = workflow_show.task_rows(text, 'wf', [types.SimpleNamespace(
            name='a', state='SUCCESS', started_at=None, finished_at=None,
            state_info=None)])
        out = workflow_show.dot(yaml.safe_load(text)['wf']['tasks'], rows,
                                'title')
        self.assertIn('"a" [label="a\\nSUCCESS", fillcolor=palegreen];', out)
        self.assertIn('"b" [label="b\\nNOT STARTED", fillcolor=white];', out)
        self.assertIn('"a" -> "b" [label="get_attr,hosted_on"];', out)
        self.assertIn('"a" -> "a_cleanup";', out)

    def test_edges_carry_their_kinds(self):
        tasks = yaml.safe_load(definition())['wf']['tasks']
        self.assertEqual(
            [{'from': 'a', 'to': 'a_cleanup', 'kinds': []},
             {'from': 'a', 'to': 'b', 'kinds': ['get_attr', 'hosted_on']}],
            workflow_show.edge_rows(tasks))


class HookDetailsTest(testtools.TestCase):

    def test_hook_tasks_show_the_users_workflow_and_execution(self):
        listed = [types.SimpleNamespace(resource_name='a',
                                        resource_type='OS::Heat::None'),
                  types.SimpleNamespace(resource_name='b',
                                        resource_type='OS::Mistral::Hook'),
                  types.SimpleNamespace(resource_name='c',
                                        resource_type='OS::Mistral::Hook')]
        attrs = {'b': {'execution_id': 'ex-b', 'output': {}}, 'c': {}}
        heat = types.SimpleNamespace(resources=types.SimpleNamespace(
            list=lambda stack_id: listed,
            get=lambda stack_id, name: types.SimpleNamespace(
                attributes=attrs[name])))
        mistral = types.SimpleNamespace(executions=types.SimpleNamespace(
            get=lambda eid: types.SimpleNamespace(
                workflow_name='users_wf', state='RUNNING')))
        details = workflow_show.hook_details(heat, mistral, 'sid')
        self.assertEqual(
            {'b': {'workflow': 'users_wf', 'execution': 'ex-b',
                   'state': 'RUNNING'},
             'c': {'workflow': None, 'execution': None,
                   'state': workflow_show.NOT_STARTED}}, details)
        rows = workflow_show.add_hooks(
            workflow_show.task_rows(definition(), 'wf', []), details)
        self.assertEqual(['b'], [r['resource'] for r in rows if 'hook' in r])
        self.assertEqual('users_wf', rows[2]['hook']['workflow'])
