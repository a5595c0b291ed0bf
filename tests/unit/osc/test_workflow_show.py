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
"""``openstack stack workflow show``: its output formats and its errors.

heat-api's view is faked (``workflow_data.fetch``); the view itself is
tested in tests/unit/heat/api.
"""

import io
import json
import types
from unittest import mock

from heatclient import exc as heat_exc
from keystoneauth1 import exceptions as ks_exc
from mistralclient.api import base as mistral_base
from osc_lib import exceptions
import testtools

from heat_mistral_engine.heat.api import rows
from heat_mistral_engine.osc import workflow_data
from heat_mistral_engine.osc import workflow_dot
from heat_mistral_engine.osc import workflow_show
from tests.unit.heat.api import test_rows

STACK_ID = 'c0ffee00-0000-4000-8000-000000000001'


def view(execution=True):
    """What heat-api's view answers for a stack of tasks a and b."""
    spec = test_rows.spec()
    return {
        'execution': ({'id': 'ex-1', 'state': 'SUCCESS', 'traversal': 't1'}
                      if execution else None),
        'tasks': rows.task_rows(spec, [types.SimpleNamespace(
            name='a', state='SUCCESS', started_at=None, finished_at=None,
            state_info=None)]),
        'edges': rows.edge_rows(spec),
        'parent': None,
        'nested': [{'task': 'b', 'task_execution_id': 'tx-b',
                    'resource': 'b', 'stack_id': 'child',
                    'execution': 'ex-2', 'state': 'RUNNING',
                    'created_at': None, 'updated_at': None}],
    }


class FakeHeat:

    def __init__(self, error=None):
        self.error = error
        self.stacks = types.SimpleNamespace(get=self._get)

    def _get(self, name, resolve_outputs=True):
        if self.error:
            raise self.error
        return types.SimpleNamespace(id=STACK_ID, stack_name='web',
                                     stack_status='CREATE_COMPLETE')


class ShowCommandTest(testtools.TestCase):
    """The command as openstackclient runs it, on fake clients."""

    def run_command(self, *argv, heat=None, answer=None):
        out = io.StringIO()
        app = types.SimpleNamespace(stdout=out, client_manager=(
            types.SimpleNamespace(orchestration=heat or FakeHeat())))
        command = workflow_show.ShowStackWorkflow(app, None)
        parser = command.get_parser('openstack stack workflow show')
        fetch = mock.Mock(side_effect=answer) if isinstance(
            answer, Exception) else mock.Mock(return_value=answer or view())
        with mock.patch.object(workflow_data, 'fetch', fetch):
            command.run(parser.parse_args(list(argv) + ['web']))
        return out.getvalue()

    def test_json_is_json_alone(self):
        shown = json.loads(self.run_command('-f', 'json'))
        self.assertEqual(('ex-1', 't1', ['a', 'a_cleanup', 'b']),
                         (shown['execution'], shown['traversal'],
                          [row['task'] for row in shown['tasks']]))
        self.assertEqual(['ex-2'], [n['execution'] for n in shown['nested']])

    def test_dot_is_the_graph_alone(self):
        out = self.run_command('-f', 'dot')
        self.assertTrue(out.startswith('digraph "web ex-1" {\n'), out)
        self.assertTrue(out.endswith('\n}\n'), out)
        self.assertEqual(1, out.count('digraph'))
        self.assertIn('"a" [label="a\\nSUCCESS", fillcolor=palegreen];', out)
        self.assertIn('"b" [label="b\\nNOT STARTED", fillcolor=white];',
                      out)
        self.assertIn('"a" -> "b" [label="get_attr,hosted_on"];', out)
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
                          % STACK_ID, answer=view(execution=False))

    def test_heat_refuses_the_view(self):
        self.assert_error('Heat could not show the workflow of stack web '
                          '(%s): ' % STACK_ID,
                          answer=heat_exc.HTTPServiceUnavailable('later'))

    def test_mistral_refuses_a_hook_execution(self):
        self.assert_error('Mistral could not show the hook executions of '
                          'stack web', answer=mistral_base.APIException(
                              404, 'Execution not found'))

    def test_mistral_not_in_the_catalog(self):
        self.assert_error('Mistral (service type workflowv2), which runs the '
                          'hooks of stack web, is not in the service catalog',
                          answer=ks_exc.EndpointNotFound('workflowv2'))


class DotTest(testtools.TestCase):

    def test_dot_colours_by_state(self):
        shown = view()
        out = workflow_dot.dot(shown['edges'], shown['tasks'], 'title')
        self.assertIn('"a" [label="a\\nSUCCESS", fillcolor=palegreen];', out)
        self.assertIn('"b" [label="b\\nNOT STARTED", fillcolor=white];', out)
        self.assertIn('"a" -> "b" [label="get_attr,hosted_on"];', out)
        self.assertIn('"a" -> "a_cleanup";', out)
