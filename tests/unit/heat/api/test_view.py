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

"""What ``view.build`` reads from Mistral, and what it lets out."""

import json
import types
from unittest import mock

from heat_mistral_engine.graph import model
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.api import view
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine import execution_link
from tests.unit import base

STACK = '5a0c3c4e-0000-4000-8000-000000000001'
CHILD = '5a0c3c4e-0000-4000-8000-000000000002'
HIDDEN_CHILD = '5a0c3c4e-0000-4000-8000-000000000003'
NAME = 'heat_stack_' + STACK
SERVICE = 'service-project'
TENANT = 'tenant-project'
# What must never leave: the sealed traversal token and node receipts
# (Fernet texts start with gAAAAA), and Mistral's tracebacks.
SECRET = 'gAAAAAsealed-token'
RECEIPT = 'gAAAAAsealed-receipt'


def definition(name=NAME):
    graph = model.TaskGraph(
        [model.Node(1, True, 'db'), model.Node(2, True, 'app')],
        [((1, True), (2, True))],
        kinds={((1, True), (2, True)): ('get_attr',)})
    return workflow.to_yaml(workflow.build(graph, name))


def execution(eid, project=SERVICE, stack_id=STACK,
              created='2026-01-01 00:00:01', action='CREATE', params=None,
              name=NAME, wid='wf'):
    return types.SimpleNamespace(
        id=eid, project_id=project, workflow_id=wid, workflow_name=name,
        state='SUCCESS', state_info=None, created_at=created,
        updated_at=created, root_execution_id=None,
        description='Heat stack web (%s) %s, traversal tr'
                    % (stack_id, action),
        input=json.dumps({'stack_id': stack_id, 'traversal': 'tr',
                          'token': SECRET}),
        params=json.dumps(params or {}))


def child(eid, stack_id):
    return execution(eid, stack_id=stack_id, params=execution_link.params(
        {'stack_id': STACK, 'resource': 'app', 'execution_id': 'own',
         'task': 'app', 'task_execution_id': 't-app'}, 'own'))


class BuildTest(base.TestCase):
    """A MistralService as the service project, with a mocked client."""

    def setUp(self):
        super().setUp()
        self.conf.config(group='mistral_scheduler',
                         mistral_url='http://127.0.0.1:1/v2')
        self.service = mistral_api.MistralService()
        self.service._project_id = SERVICE
        self.client = self.service._client = mock.Mock()
        self.executions = [execution('own')]
        self.tree = []
        self.workflows = {'wf': types.SimpleNamespace(
            id='wf', project_id=SERVICE, definition=definition())}
        self.tasks = [
            types.SimpleNamespace(
                id='t-db', name='db', state='SUCCESS', project_id=SERVICE,
                created_at='c1', started_at='s1', finished_at='f1',
                state_info=None,
                published=json.dumps({'node_1': RECEIPT}),
                result=json.dumps({'node': RECEIPT})),
            types.SimpleNamespace(
                id='t-app', name='app', state='ERROR', project_id=SERVICE,
                created_at='c2', started_at='s2', finished_at='f2',
                state_info="Can not evaluate Jinja expression "
                           "[{{ _.token }}], data=[{'token': '%s'}]\n"
                           "Traceback (most recent call last):" % SECRET,
                published='{}', result=None)]
        self.client.executions.list.side_effect = self.list_executions
        self.client.workflows.get.side_effect = self.workflows.__getitem__
        self.client.tasks.list.return_value = self.tasks
        self.visible = {STACK, CHILD}

    def list_executions(self, workflow_name=None, root_execution_id=None,
                        limit=None):
        if root_execution_id:
            return list(self.tree)
        return [e for e in self.executions if e.workflow_name ==
                workflow_name]

    def build(self, action='CREATE'):
        return view.build(self.service, STACK, action,
                          self.visible.__contains__)

    def test_tasks_states_timings_and_edges(self):
        found = self.build()
        self.assertEqual(NAME, found['workflow'])
        self.assertEqual({'id': 'own', 'state': 'SUCCESS',
                          'created_at': '2026-01-01 00:00:01',
                          'updated_at': '2026-01-01 00:00:01',
                          'traversal': 'tr'}, found['execution'])
        self.assertEqual([('app', 'ERROR', 's2', 'f2'),
                          ('db', 'SUCCESS', 's1', 'f1')],
                         sorted((r['task'], r['state'], r['started_at'],
                                 r['finished_at']) for r in found['tasks']))
        self.assertEqual([{'from': 'db', 'to': 'app', 'kinds': ['get_attr']}],
                         found['edges'])
        self.client.workflows.get.assert_called_once_with('wf')
        self.client.tasks.list.assert_called_once_with(
            workflow_execution_id='own', limit=-1)

    def test_no_token_receipt_input_or_traceback_leaves(self):
        text = json.dumps(self.build())
        self.assertNotIn('gAAAAA', text)
        self.assertNotIn('Traceback', text)
        self.assertNotIn('token', text)
        self.assertNotIn('Jinja', text)

    def test_another_projects_look_alike_is_never_taken(self):
        # An admin's listing holds every project's heat_stack_<id>: a
        # tenant's own workflow of that name, run later, with a forged
        # input naming the stack.
        self.executions.append(execution('squat', project=TENANT,
                                         created='2026-01-02 00:00:00',
                                         wid='squat-wf'))
        self.workflows['squat-wf'] = types.SimpleNamespace(
            id='squat-wf', project_id=TENANT,
            definition=definition().replace('heat.run_node', 'std.noop'))
        self.assertEqual('own', self.build()['execution']['id'])
        self.client.workflows.get.assert_called_once_with('wf')

    def test_a_definition_not_the_services_is_not_read(self):
        self.workflows['wf'].project_id = TENANT
        found = self.build()
        self.assertEqual([], found['edges'])
        self.assertEqual({'app', 'db'}, {r['task'] for r in found['tasks']})
        self.assertEqual({None}, {r['resource'] for r in found['tasks']})

    def test_a_deleted_definition_leaves_the_tasks(self):
        gone = Exception('Workflow not found')
        gone.error_code = 404
        self.client.workflows.get.side_effect = gone
        found = self.build()
        self.assertEqual(['db', 'app'], [r['task'] for r in found['tasks']])
        self.assertEqual([], found['edges'])

    def test_mistral_failures_are_mistral_unavailable(self):
        self.client.tasks.list.side_effect = ConnectionRefusedError('no')
        self.assertRaises(mistral_api.MistralUnavailable, self.build)

    def test_an_execution_of_another_stack_is_not_taken(self):
        self.executions[:] = [execution('other', stack_id=CHILD)]
        self.assertIsNone(self.build()['execution'])

    def test_no_execution(self):
        self.executions[:] = []
        found = self.build()
        self.assertIsNone(found['execution'])
        self.assertEqual([], found['tasks'])
        self.client.tasks.list.assert_not_called()

    def test_the_latest_actions_execution(self):
        self.executions.append(execution('del', created='2026-01-03',
                                         action='DELETE'))
        self.assertEqual('del', self.build('DELETE')['execution']['id'])
        self.assertEqual('own', self.build('CREATE')['execution']['id'])

    def test_nested_and_parent_stacks_only_when_visible(self):
        self.tree[:] = [child('c1', CHILD), child('c2', HIDDEN_CHILD),
                        child('c3', CHILD)]
        self.tree[2].project_id = TENANT
        found = self.build()
        self.assertEqual([('c1', CHILD)], [(r['execution'], r['stack_id'])
                                           for r in found['nested']])
        self.client.executions.list.assert_any_call(
            root_execution_id='own', limit=-1)
        # A nested stack's own view names its parent, if visible.
        self.executions[:] = [execution('own', params=execution_link.params(
            {'stack_id': CHILD, 'resource': 'group', 'execution_id': 'up',
             'task': 'group', 'task_execution_id': 't-up'}, 'up'))]
        self.assertEqual('up', self.build()['parent']['execution_id'])
        self.visible.discard(CHILD)
        self.assertIsNone(self.build()['parent'])
