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

import io
import json
import types

from heatclient import exc as heat_exc
from keystoneauth1 import exceptions as ks_exc
from mistralclient.api import base as mistral_base
from osc_lib import exceptions
import testtools
import yaml

from heat_mistral_engine import execution_link
from heat_mistral_engine.graph import model
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.osc import workflow_dot
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


STACK_ID = 'c0ffee00-0000-4000-8000-000000000001'
WF = workflow.workflow_name(STACK_ID)


class FakeMistral:
    """The calls of mistralclient that the command makes, on one stack."""

    def __init__(self, definition=None, executions=None):
        self.definition = definition or workflow.to_yaml(workflow.build(
            model.TaskGraph(
                [model.Node(1, True, 'a'), model.Node(2, True, 'b')],
                [((1, True), (2, True))],
                kinds={((1, True), (2, True)): ('get_attr',)}), WF))
        top = types.SimpleNamespace(
            id='ex-1', workflow_id='wf-1', state='SUCCESS',
            created_at='2026-01-01 00:00:01', root_execution_id=None,
            description='Heat stack web (%s) CREATE, traversal t1'
                        % STACK_ID,
            input=json.dumps({'stack_id': STACK_ID, 'traversal': 't1'}),
            params={})
        child = types.SimpleNamespace(
            id='ex-2', state='RUNNING', created_at='2026-01-01 00:00:02',
            updated_at='2026-01-01 00:00:03', input={'stack_id': 'child'},
            params={execution_link.PARAM: {
                'execution_id': 'ex-1', 'task': 'b', 'resource': 'b',
                'task_execution_id': 'tx-b'}})
        self.listed = [top] if executions is None else executions
        self.tree = [top, child]
        self.executions = types.SimpleNamespace(
            list=self._list, get=lambda eid: None)
        self.workflows = types.SimpleNamespace(
            get=lambda wid: types.SimpleNamespace(
                definition=self.definition))
        self.tasks = types.SimpleNamespace(list=lambda **kw: [
            types.SimpleNamespace(name='a', state='SUCCESS',
                                  started_at='t1', finished_at='t2',
                                  state_info=None)])

    def _list(self, workflow_name=None, root_execution_id=None, limit=None):
        return self.listed if workflow_name else self.tree


class FakeHeat:

    def __init__(self, error=None):
        self.error = error
        self.resources = types.SimpleNamespace(list=lambda stack_id: [])
        self.stacks = types.SimpleNamespace(get=self._get)

    def _get(self, name, resolve_outputs=True):
        if self.error:
            raise self.error
        return types.SimpleNamespace(id=STACK_ID, stack_name='web',
                                     stack_status='CREATE_COMPLETE')


class MissingMistral:
    """A client manager whose Mistral is not in the catalog."""

    orchestration = FakeHeat()

    @property
    def workflow_engine(self):
        raise ks_exc.EndpointNotFound('workflowv2 not found')


class ShowCommandTest(testtools.TestCase):
    """The command as openstackclient runs it, on fake clients."""

    def run_command(self, *argv, heat=None, mistral=None,
                    client_manager=None):
        out = io.StringIO()
        app = types.SimpleNamespace(
            stdout=out, client_manager=client_manager or types.SimpleNamespace(
                orchestration=heat or FakeHeat(),
                workflow_engine=mistral or FakeMistral()))
        command = workflow_show.ShowStackWorkflow(app, None)
        parser = command.get_parser('openstack stack workflow show')
        command.run(parser.parse_args(list(argv) + ['web']))
        return out.getvalue()

    def test_json_is_json_alone(self):
        shown = json.loads(self.run_command('-f', 'json'))
        self.assertEqual(('ex-1', 't1', ['a', 'b']),
                         (shown['execution'], shown['traversal'],
                          [row['task'] for row in shown['tasks']]))
        self.assertEqual([{'from': 'a', 'to': 'b', 'kinds': ['get_attr']}],
                         shown['edges'])
        self.assertEqual(['ex-2'], [n['execution'] for n in shown['nested']])

    def test_dot_is_the_graph_alone(self):
        out = self.run_command('-f', 'dot')
        self.assertTrue(out.startswith('digraph "web ex-1" {\n'), out)
        self.assertTrue(out.endswith('\n}\n'), out)
        self.assertEqual(1, out.count('digraph'))
        self.assertIn('"a" [label="a\\nSUCCESS", fillcolor=palegreen];', out)
        self.assertIn('"b" [label="b\\nNOT STARTED", fillcolor=white];',
                      out)
        self.assertIn('"a" -> "b" [label="get_attr"];', out)
        self.assertIn('"b" -> "ex-2" [style=dashed, label="nested"];', out)

    def test_dot_option_is_the_dot_format(self):
        self.assertEqual(self.run_command('-f', 'dot'),
                         self.run_command('--dot'))
        # The last of --dot and -f wins, as for any repeated option: the
        # output is one format, never the graph followed by "{}".
        json.loads(self.run_command('--dot', '-f', 'json'))

    def test_other_formats_are_cliffs(self):
        self.assertIn('execution: ex-1', self.run_command('-f', 'yaml'))
        self.assertIn('ex-1', self.run_command('-f', 'value', '-c',
                                               'execution'))

    def assert_error(self, message, **kwargs):
        error = self.assertRaises(exceptions.CommandError,
                                  self.run_command, '-f', 'json', **kwargs)
        self.assertIn(message, str(error))

    def test_stack_not_found(self):
        self.assert_error('Stack not found: web', heat=FakeHeat(
            heat_exc.HTTPNotFound('ERROR: The Stack (web) could not be '
                                  'found.')))

    def test_heat_unreachable(self):
        self.assert_error('Heat could not show stack web: ', heat=FakeHeat(
            ks_exc.ConnectFailure('connection refused')))

    def test_no_execution(self):
        self.assert_error('Stack web (%s) has no Mistral execution'
                          % STACK_ID, mistral=FakeMistral(executions=[]))

    def test_mistral_refuses(self):
        mistral = FakeMistral()

        def refuse(wid):
            raise mistral_base.APIException(404, 'Workflow not found')
        mistral.workflows = types.SimpleNamespace(get=refuse)
        self.assert_error('Mistral could not show the workflow of stack web '
                          '(%s): Workflow not found' % STACK_ID,
                          mistral=mistral)

    def test_mistral_not_in_the_catalog(self):
        self.assert_error('Mistral (service type workflowv2) is not in the '
                          'service catalog', client_manager=MissingMistral())

    def test_definition_of_another_workflow(self):
        self.assert_error('Execution ex-1 runs workflow %s, whose definition '
                          'is not one heat-mistral-engine generated' % WF,
                          mistral=FakeMistral(definition='other: {}'))


class DotTest(testtools.TestCase):

    def test_dot_colours_by_state(self):
        text = definition()
        rows = workflow_show.task_rows(text, 'wf', [types.SimpleNamespace(
            name='a', state='SUCCESS', started_at=None, finished_at=None,
            state_info=None)])
        out = workflow_dot.dot(workflow_show.edge_rows(
            yaml.safe_load(text)['wf']['tasks']), rows, 'title')
        self.assertIn('"a" [label="a\\nSUCCESS", fillcolor=palegreen];', out)
        self.assertIn('"b" [label="b\\nNOT STARTED", fillcolor=white];', out)
        self.assertIn('"a" -> "b" [label="get_attr,hosted_on"];', out)
        self.assertIn('"a" -> "a_cleanup";', out)
