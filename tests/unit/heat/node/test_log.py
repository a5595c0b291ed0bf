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

"""The log lines that link a Heat stack, its traversal and Mistral's ids.

Checked with fixtures.FakeLogger: what an operator greps for (stack id,
starter, resource, Mistral ids, heat-api's request id) must be in the
line, whatever else changes in the wording.
"""

import logging
import types
from unittest import mock

import fixtures
from heat.common import context as heat_context
from oslo_context import context as oslo_context

from heat_mistral_engine.heat.api import rows as view_rows
from heat_mistral_engine.heat.node import admission
from heat_mistral_engine.heat.node import log as node_log
from heat_mistral_engine.heat.node import runner as node_runner
from heat_mistral_engine.heat.node import server as node_server
from heat_mistral_engine.heat.traversal import starter
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine.mistral import actions
from heat_mistral_engine import protocol
from tests.unit import base

STACK = 'c5f36dfd-de7c-406e-addc-51f8191e9e9b'
TRAVERSAL = 'a3c5cc83-63d2-4220-9a4b-1be9dc28aab8'
ACTION_EX = 'd293a12b-b21c-4fa9-9df7-7bfc0eca36f7'
REQUEST = 'req-6c4fab87-2eed-4352-8596-294e8c50e499'


def node_request(is_update=True):
    return protocol.NodeRequest.from_dict(protocol.node_request(
        action_execution_id=ACTION_EX, stack_id=STACK, traversal=TRAVERSAL,
        resource_id=957, is_update=is_update, data={}, token='t'))


class LogTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level=logging.INFO))

    def assertLogged(self, *words):
        for word in words:
            self.assertIn(word, self.log.output)


class NodeLogTest(LogTest):

    def test_started_names_every_id_and_the_original_request(self):
        stack = types.SimpleNamespace(
            action='CREATE',
            context=oslo_context.RequestContext(request_id=REQUEST,
                                                overwrite=False))
        node_log.started(node_request(), types.SimpleNamespace(name='r0499'),
                         stack)
        self.assertLogged('r0499', 'resource 957', 'create/update', STACK,
                          'CREATE', TRAVERSAL, ACTION_EX, REQUEST)

    def test_finished_says_how_the_node_ended(self):
        node_log.finished(node_request(is_update=False),
                          node_runner.Outcome(error='Resource failed: boom'),
                          1.5)
        self.assertLogged('resource 957', 'cleanup', STACK, TRAVERSAL,
                          ACTION_EX, 'ended ERROR: Resource failed: boom',
                          '1.50 s')

    def test_finished_success(self):
        node_log.finished(node_request(), node_runner.Outcome(output={}), 0)
        self.assertLogged(ACTION_EX, 'ended SUCCESS')


class EndpointLogTest(LogTest):

    def test_every_dispatched_node_gets_an_end_line(self):
        runner = mock.Mock()
        runner.run.return_value = node_runner.Outcome(
            error='traversal superseded')
        node_server.NodeEndpoint(admission.Admission(runner)).run_node(
            {}, node_request().to_dict())
        runner.run.assert_called_once_with(node_request())
        self.assertLogged(ACTION_EX, STACK, 'ended ERROR: traversal '
                          'superseded')


class RunNodeLogTest(LogTest):

    def test_mistral_side_names_heat_and_mistral_ids(self):
        # A definition compiled before tasks stopped carrying the name
        # may still give it: accepted, not used.
        action = actions.RunNode(STACK, TRAVERSAL, 957, True, 'token',
                                 resource_name='r{{ 6*7 }}')
        context = types.SimpleNamespace(execution=types.SimpleNamespace(
            workflow_execution_id='wf-ex', task_execution_id='task-ex',
            action_execution_id=ACTION_EX))
        # Where it runs is test_action_origin's.
        with mock.patch.object(actions.heat_rpc, 'cast_run_node') as cast, \
                mock.patch.object(actions.action_origin, 'check',
                                  return_value=None):
            self.assertIsNone(action.run(context))
        self.assertEqual(ACTION_EX,
                         cast.call_args[0][0]['action_execution_id'])
        self.assertLogged('resource 957', STACK, TRAVERSAL,
                          'wf-ex', 'task-ex', ACTION_EX)


class ExecutionDescriptionTest(base.TestCase):

    def stack(self, name='i500', request_id=REQUEST):
        return types.SimpleNamespace(
            name=name, id=STACK, action='CREATE',
            current_traversal=TRAVERSAL,
            context=types.SimpleNamespace(request_id=request_id))

    def execution(self, description):
        return types.SimpleNamespace(description=description, id='x',
                                     created_at='')

    def test_names_stack_traversal_and_request(self):
        self.assertEqual(
            'Heat stack i500 (%s) CREATE, traversal %s, request %s'
            % (STACK, TRAVERSAL, REQUEST),
            starter.execution_description(self.stack()))

    def test_long_names_are_shortened_to_fit_mistral(self):
        text = starter.execution_description(self.stack(name='n' * 255))
        self.assertEqual(starter.MAX_DESCRIPTION, len(text))
        self.assertIn('nnn... (%s) CREATE' % STACK, text)
        self.assertTrue(text.endswith(REQUEST))

    def test_workflow_show_still_reads_the_action(self):
        # choose_execution ranks executions by the action in this text.
        for name in ('i500', 'n' * 255):
            create = self.execution(starter.execution_description(
                self.stack(name=name)))
            other = self.execution('Heat stack s (id) DELETE, traversal t')
            self.assertIs(create, view_rows.choose_execution(
                [create, other], 'CREATE'))

    def test_without_a_request_id(self):
        self.assertTrue(starter.execution_description(
            self.stack(request_id=None)).endswith(', request -'))


class TokenContextTest(base.TestCase):

    def test_opening_the_token_restores_the_original_request_id(self):
        # Heat's own lines for the node (``creating TestResource ...``) carry
        # heat-api's request id because the context opened from the token
        # becomes the thread's oslo.log context.
        original = heat_context.RequestContext(request_id=REQUEST,
                                               overwrite=False)
        token = traversal_token.seal(original, STACK, TRAVERSAL)
        heat_context.RequestContext()   # the RPC message's fresh context
        grant = traversal_token.open_token(token, STACK, TRAVERSAL)
        self.assertEqual(REQUEST, grant.context.request_id)
        self.assertEqual(REQUEST, oslo_context.get_current().request_id)
