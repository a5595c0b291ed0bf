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

import json
import types
from unittest import mock

from heatclient import exc as heat_exc
from osc_lib import exceptions
import testtools

from heat_mistral_engine.heat.api import rows
from heat_mistral_engine.osc import workflow_data
from heat_mistral_engine.osc import workflow_show
from tests.unit.heat.api import test_rows

STACK = types.SimpleNamespace(id='sid', stack_name='web',
                              stack_status='CREATE_COMPLETE')


def answer(body, status=200):
    return types.SimpleNamespace(
        status_code=status, content=json.dumps(body).encode(),
        headers={'content-type': 'application/json'},
        json=lambda: body)


def view(execution=True):
    spec = test_rows.spec()
    return {'workflow': 'heat_stack_sid', 'stack_id': 'sid',
            'stack_name': 'web', 'stack_status': 'CREATE_COMPLETE',
            'execution': {'id': 'ex', 'state': 'SUCCESS',
                          'created_at': 'c', 'updated_at': 'u',
                          'traversal': 'tr'} if execution else None,
            'tasks': rows.task_rows(spec, []) if execution else [],
            'edges': rows.edge_rows(spec) if execution else [],
            'parent': None, 'nested': []}


class FakeClients:
    """A client_manager whose workflow_engine must be asked for."""

    def __init__(self, response, resources=(), attrs=None):
        self.get = mock.Mock(side_effect=[response]) if isinstance(
            response, Exception) else mock.Mock(return_value=response)
        self.orchestration = types.SimpleNamespace(
            http_client=types.SimpleNamespace(get=self.get),
            resources=types.SimpleNamespace(
                list=lambda stack_id: list(resources),
                get=lambda stack_id, name: types.SimpleNamespace(
                    attributes=(attrs or {})[name])),
            stacks=types.SimpleNamespace(
                get=lambda ident, resolve_outputs: STACK))
        self.mistral_asked = 0

    @property
    def workflow_engine(self):
        self.mistral_asked += 1
        return types.SimpleNamespace(executions=types.SimpleNamespace(
            get=lambda eid: types.SimpleNamespace(
                workflow_name='users_wf', state='RUNNING')))


class FetchTest(testtools.TestCase):

    def test_asks_heat_api_for_the_stacks_view(self):
        clients = FakeClients(answer({'workflow': view()}))
        found = workflow_data.fetch(clients, STACK)
        clients.get.assert_called_once_with('/stacks/web/sid/workflow')
        self.assertEqual('ex', found['execution']['id'])
        self.assertEqual(['a', 'a_cleanup', 'b'],
                         [r['task'] for r in found['tasks']])
        # No hook, no Mistral: the user needs no Mistral access.
        self.assertEqual(0, clients.mistral_asked)

    def test_a_heat_api_without_the_view_is_named(self):
        # heat-api's router answers a path it does not know without
        # Heat's error type.
        missing = heat_exc.HTTPNotFound(json.dumps(
            {'code': 404, 'title': 'Not Found',
             'message': 'The resource could not be found.'}), 404)
        exc = self.assertRaises(exceptions.CommandError, workflow_data.fetch,
                                FakeClients(missing), STACK)
        self.assertIn('workflow_view filter', str(exc))
        self.assertIn('/stacks/web/sid/workflow', str(exc))

    def test_heats_own_not_found_is_raised_as_it_is(self):
        gone = heat_exc.HTTPNotFound(json.dumps(
            {'code': 404, 'title': 'Not Found', 'explanation': 'x',
             'error': {'type': 'EntityNotFound', 'traceback': None,
                       'message': 'The Stack (web) could not be found.'}}),
            404)
        exc = self.assertRaises(heat_exc.HTTPNotFound, workflow_data.fetch,
                                FakeClients(gone), STACK)
        self.assertIn('The Stack (web) could not be found.', str(exc))


class HookDetailsTest(testtools.TestCase):

    def test_hook_tasks_show_the_users_workflow_and_execution(self):
        listed = [types.SimpleNamespace(resource_name='a',
                                        resource_type='OS::Heat::None'),
                  types.SimpleNamespace(resource_name='b',
                                        resource_type='OS::Mistral::Hook'),
                  types.SimpleNamespace(resource_name='c',
                                        resource_type='OS::Mistral::Hook')]
        attrs = {'b': {'execution_id': 'ex-b', 'output': {}}, 'c': {}}
        clients = FakeClients(answer({'workflow': view()}), listed, attrs)
        found = workflow_data.fetch(clients, STACK)
        self.assertEqual(1, clients.mistral_asked)
        self.assertEqual(['b'], [r['resource'] for r in found['tasks']
                                 if 'hook' in r])
        self.assertEqual({'workflow': 'users_wf', 'execution': 'ex-b',
                          'state': 'RUNNING'}, found['tasks'][2]['hook'])
        details = workflow_data.hook_details(
            clients.orchestration, lambda: clients.workflow_engine, 'sid')
        self.assertEqual({'workflow': None, 'execution': None,
                          'state': rows.NOT_STARTED}, details['c'])


class TakeActionTest(testtools.TestCase):

    def command(self, clients):
        app = types.SimpleNamespace(client_manager=clients,
                                    stdout=mock.Mock())
        return workflow_show.ShowStackWorkflow(app, None)

    def test_shows_the_view(self):
        clients = FakeClients(answer({'workflow': view()}))
        cmd = self.command(clients)
        columns, data = cmd.take_action(cmd.get_parser('x').parse_args(
            ['web']))
        shown = dict(zip(columns, data))
        self.assertEqual(('sid', 'heat_stack_sid', 'ex', 'SUCCESS', 'tr'),
                         (shown['stack_id'], shown['workflow'],
                          shown['execution'], shown['execution_state'],
                          shown['traversal']))
        self.assertEqual(3, len(shown['tasks'].machine_readable()))
        self.assertEqual(0, clients.mistral_asked)

    def test_no_execution(self):
        cmd = self.command(FakeClients(answer({'workflow': view(False)})))
        exc = self.assertRaises(exceptions.CommandError,
                                cmd.take_action,
                                cmd.get_parser('x').parse_args(['web']))
        self.assertIn('ordered by Heat itself', str(exc))
