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

"""Direct completions: heat-engine's call, the Mistral engine's endpoint.

The call and the endpoint meet over oslo.messaging's in-memory transport,
so the method, its arguments and its version are checked on both sides;
the endpoint's call into Mistral's engine is checked against Mistral's
real engine and database in a child process (Mistral's options and Heat's
clash in one process).
"""

import importlib.util
from unittest import mock

import fixtures
import oslo_messaging
from oslo_config import cfg
import testtools

from heat_mistral_engine.heat.clients import direct_completion
from heat_mistral_engine.heat.clients import mistral_api as mistral_client
from heat_mistral_engine.mistral import completion_server
from heat_mistral_engine.mistral.patches import base as patches_base
from heat_mistral_engine.mistral.patches import direct_completions
from heat_mistral_engine import protocol
from tests.unit import base
from tests.unit import mistral_side
from tests.unit.heat.clients import test_mistral_api as test_mistral_client

REQUEST = protocol.NodeRequest(
    action_execution_id='ax-1', stack_id='s1', traversal='t1',
    resource_id=4, is_update=True, data={}, token='t')

TOPIC = 'heat-mistral-engine-completions'
AX = '0175f1b3-9033-4e59-a83d-263a6f839fc7'
NODE = {'stack_id': 's1', 'traversal': 't1', 'resource_id': 4,
        'is_update': True}


class ActionException(Exception):
    """As Mistral's: a class oslo.messaging sends back as a RemoteError."""


class RoundTripTest(base.TestCase):
    """DirectCompletions against a served CompletionEndpoint."""

    def setUp(self):
        super().setUp()
        self.transport = oslo_messaging.get_rpc_transport(
            cfg.CONF, url='fake:/')
        self.addCleanup(self.transport.cleanup)
        self.engine = self.useFixture(fixtures.MockPatchObject(
            direct_completions, 'complete_action')).mock
        self.engine.return_value = mock.Mock(state='SUCCESS')
        self.scope = self.useFixture(fixtures.MockPatchObject(
            direct_completions, 'node_action_problem')).mock
        self.scope.return_value = None
        self.clock = base.FakeClock()
        self.clients = []
        self.direct = direct_completion.DirectCompletions(
            timeout=1, topic=TOPIC, clock=self.clock,
            client_factory=self.client)

    def complete(self, state='SUCCESS', output=None, node=NODE, ax=AX):
        return self.direct.complete(TOPIC, ax, state, output or {}, node)

    def client(self, topic, timeout):
        self.clients.append(topic)
        target = oslo_messaging.Target(
            topic=topic, version=protocol.COMPLETION_RPC_API_VERSION)
        return oslo_messaging.get_rpc_client(self.transport, target,
                                             timeout=timeout)

    def serve(self):
        target = oslo_messaging.Target(topic=TOPIC, server='mistral-1')
        server = oslo_messaging.get_rpc_server(
            self.transport, target, [completion_server.CompletionEndpoint()],
            executor='threading')
        server.start()
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)

    def test_a_served_call_completes_the_node_s_action_execution(self):
        self.serve()
        self.complete(output={'node': 'r'})
        self.scope.assert_called_once_with(AX, NODE)
        self.engine.assert_called_once_with(AX, 'SUCCESS', {'node': 'r'})

    def test_another_action_execution_is_refused_and_not_completed(self):
        self.serve()
        self.scope.return_value = 'its input names another node'
        exc = self.assertRaises(direct_completion.Foreign, self.complete)
        self.assertIn('ForeignActionExecution', str(exc))
        self.assertIn('its input names another node', str(exc))
        self.engine.assert_not_called()

    def test_a_call_that_names_no_node_is_refused(self):
        # As a heat-engine of RPC API 1.0 calls: it then uses the API.
        self.serve()
        exc = self.assertRaises(direct_completion.Refused, self.complete,
                                node={})
        self.assertNotIsInstance(exc, direct_completion.Foreign)
        self.assertIn('lacks stack_id', str(exc))
        self.scope.assert_not_called()
        self.engine.assert_not_called()

    def test_an_id_that_is_no_mistral_id_is_refused(self):
        self.serve()
        exc = self.assertRaises(direct_completion.Refused, self.complete,
                                ax='ax-1')
        self.assertIn('must be a Mistral id', str(exc))
        self.scope.assert_not_called()
        self.engine.assert_not_called()

    def test_already_completed_comes_back_as_a_refusal(self):
        self.serve()
        self.engine.side_effect = ActionException(
            'Action ax-1 is already completed')
        exc = self.assertRaises(direct_completion.Refused, self.complete,
                                'ERROR', {'reason': 'boom'})
        self.assertTrue(mistral_client.already_completed(exc))

    def test_a_state_other_than_success_or_error_is_refused(self):
        # A built-in exception: oslo.messaging raises it again here.
        self.serve()
        exc = self.assertRaises(direct_completion.Refused, self.complete,
                                'RUNNING')
        self.assertIn('SUCCESS or ERROR', str(exc))
        self.engine.assert_not_called()

    def test_unanswered_calls_in_a_row_send_results_to_the_api(self):
        self.assertTrue(self.direct.usable(TOPIC))
        for _ in range(direct_completion.UNANSWERED_TO_PAUSE):
            self.assertTrue(self.direct.usable(TOPIC))
            self.assertRaises(direct_completion.Unanswered, self.complete)
        self.assertFalse(self.direct.usable(TOPIC))
        self.clock.now += direct_completion.RETRY_DIRECT_AFTER - 1
        self.assertFalse(self.direct.usable(TOPIC))
        self.clock.now += 1
        self.assertTrue(self.direct.usable(TOPIC))

    def test_one_unanswered_call_does_not_turn_direct_completions_off(self):
        self.assertRaises(direct_completion.Unanswered, self.complete)
        self.assertTrue(self.direct.usable(TOPIC))
        # An answer in between: the count starts again.
        self.serve()
        self.complete()
        self.engine.side_effect = RuntimeError('a slow database')
        self.assertRaises(direct_completion.Refused, self.complete)
        self.assertTrue(self.direct.usable(TOPIC))

    def test_a_request_without_topic_is_not_worth_a_call(self):
        self.assertFalse(self.direct.usable(None))

    def test_a_topic_no_engine_serves_gets_no_call(self):
        # It would hold the node's thread until the timeout, then turn
        # direct completions off; and each topic would keep a client.
        logged = self.useFixture(fixtures.FakeLogger())
        for topic in ('nobody-listens', TOPIC + '.x', 'heat-mistral-engine'):
            self.assertFalse(self.direct.usable(topic))
            self.assertRaises(direct_completion.Refused,
                              self.direct.complete, topic, AX, 'SUCCESS',
                              {}, NODE)
        self.assertEqual([], self.clients)
        self.assertIn("completion topic 'nobody-listens', which no Mistral "
                      "engine serves", logged.output)
        self.assertTrue(self.direct.usable(TOPIC))


class CompleteActionDirectlyTest(test_mistral_client.FakeApiTestCase):
    """MistralService.complete_action with a request's completion topic."""

    def setUp(self):
        super().setUp()
        self.direct = mock.Mock(spec=direct_completion.DirectCompletions)
        self.direct.usable.return_value = True
        self.service._direct = self.direct

    def complete(self, **kwargs):
        return self.service.complete_action(
            'ax-1', output={'node': 'r'}, completion_topic=TOPIC,
            node=REQUEST, **kwargs)

    def test_completed_by_the_engine_skips_the_api(self):
        self.assertIsNone(self.complete())
        self.direct.complete.assert_called_once_with(
            TOPIC, 'ax-1', 'SUCCESS', {'node': 'r'}, NODE)
        self.update.assert_not_called()

    def test_error_is_sent_as_the_api_would_get_it(self):
        self.service.complete_action('ax-1', error='Resource failed',
                                     completion_topic=TOPIC, node=REQUEST)
        self.direct.complete.assert_called_once_with(
            TOPIC, 'ax-1', 'ERROR', {'reason': 'Resource failed'}, NODE)

    def test_without_node_only_the_api_is_used(self):
        self.service.complete_action('ax-1', output={},
                                     completion_topic=TOPIC)
        self.direct.complete.assert_not_called()
        self.update.assert_called_once()

    def test_a_foreign_action_execution_is_not_completed_at_all(self):
        self.direct.complete.side_effect = direct_completion.Foreign(
            'ForeignActionExecution: its input names another node')
        exc = self.assertRaises(mistral_client.NotTheNodesAction,
                                self.complete)
        self.assertIn('its input names another node', str(exc))
        self.update.assert_not_called()

    def test_without_topic_only_the_api_is_used(self):
        self.service.complete_action('ax-1', output={})
        self.direct.complete.assert_not_called()
        self.update.assert_called_once()

    def test_while_not_usable_the_api_is_used(self):
        self.direct.usable.return_value = False
        self.complete()
        self.direct.complete.assert_not_called()
        self.update.assert_called_once()

    def test_unanswered_goes_to_the_api_where_already_completed_is_done(self):
        # The unanswered call landed after all: the API's refusal says so.
        self.direct.complete.side_effect = direct_completion.Unanswered('t')
        done = Exception('Action ax-1 is already completed')
        done.error_code = 400
        self.update.side_effect = done
        self.assertIsNone(self.complete())
        self.update.assert_called_once()

    def test_already_completed_by_someone_else_is_raised(self):
        self.direct.complete.side_effect = direct_completion.Refused(
            'ActionException: Action ax-1 is already completed')
        exc = self.assertRaises(mistral_client.MistralUnavailable,
                                self.complete)
        self.assertTrue(mistral_client.already_completed(exc))
        self.update.assert_not_called()

    def test_other_refusals_go_to_the_api(self):
        self.direct.complete.side_effect = direct_completion.Refused(
            'DBError: database is locked')
        self.complete()
        self.update.assert_called_once()
        (action_id,), kwargs = self.update.call_args
        self.assertEqual(('ax-1', 'SUCCESS'), (action_id, kwargs['state']))


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class MistralEngineTest(base.TestCase):
    """The endpoint on Mistral's real engine and database (child)."""

    def test_success_is_stored_as_through_the_api(self):
        seen = mistral_side.run_check('completion_server')
        self.assertEqual(TOPIC, seen['advertised'])
        self.assertIsNone(seen['incompatibility'])
        self.assertFalse(seen['checks_identities'])
        self.assertEqual({'state': 'SUCCESS'}, seen['answer'])
        self.assertEqual({'state': 'SUCCESS', 'state_info': None,
                          'output': {'result': {'node': 'receipt'}}},
                         seen['stored'])

    def test_error_is_stored_as_through_the_api(self):
        seen = mistral_side.run_check('completion_server', 'error')
        self.assertEqual('ERROR', seen['stored']['state'])
        self.assertEqual({'result': {'reason': 'boom'}},
                         seen['stored']['output'])

    def test_a_second_completion_is_an_expected_refusal(self):
        seen = mistral_side.run_check('completion_server')
        self.assertTrue(seen['again'].startswith('ExpectedException: '))
        self.assertIn('is already completed', seen['again'])
        self.assertIn('SUCCESS or ERROR', seen['bad_state'])

    def test_served_only_in_engine_processes(self):
        seen = mistral_side.run_check('completion_server')
        self.assertFalse(seen['engine_before'])
        self.assertFalse(seen['served_before'])
        self.assertFalse(seen['engine_scheduler_only'])
        self.assertTrue(seen['engine_after'])
        self.assertTrue(seen['served_after'])
        self.assertTrue(seen['started_once'])

    def test_not_offered_when_mistral_checks_identities(self):
        seen = mistral_side.run_check('completion_server', 'auth')
        self.assertIsNone(seen['advertised'])
        self.assertFalse(seen['served_after'])
        self.assertTrue(seen['checks_identities'])
        self.assertIsNone(seen['incompatibility'])

    def test_not_offered_with_the_option_off(self):
        seen = mistral_side.run_check('completion_server', 'disabled')
        self.assertIsNone(seen['advertised'])
        self.assertFalse(seen['served_after'])
        self.assertIsNone(seen['incompatibility'])


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class ScopeTest(base.TestCase):
    """Which action executions the endpoint completes, in Mistral's DB."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seen = mistral_side.run_check('completion_server', 'scope')

    def test_the_node_s_own_action_execution_is_completed(self):
        own = self.seen['variants']['own']
        self.assertIsNone(own['problem'])
        self.assertEqual({'state': 'ERROR'}, own['answer'])
        self.assertEqual([[self.seen['own_id'], 'ERROR',
                           {'reason': 'Refused by Heat'}]],
                         self.seen['engine_calls'])

    def test_every_other_action_execution_is_refused_and_left_alone(self):
        expected = {
            'ad_hoc': 'not run by a task of a workflow (an ad-hoc run)',
            'other_action': "an action execution of 'std.echo', not "
                            "heat.run_node",
            'other_stack': "workflow 'heat_stack_s2' in namespace 't1', "
                           "not to heat_stack_s1 in namespace t1",
            'other_traversal': "workflow 'heat_stack_s1' in namespace "
                               "'t0', not to heat_stack_s1 in namespace t1",
            'user_workflow': "workflow 'my_workflow' in namespace ''",
            'other_resource': 'another node (resource_id differ)',
            'other_kind': 'another node (is_update differ)',
            'string_id': 'another node (resource_id differ)',
            'other_project': 'not one of this project\'s',
        }
        for name, problem in expected.items():
            seen = self.seen['variants'][name]
            self.assertIn(problem, seen['problem'], name)
            self.assertTrue(seen['answer'].startswith(
                'ForeignActionExecution: action execution '), name)
            self.assertIn(problem, seen['answer'], name)
            self.assertEqual('RUNNING', seen['state'], name)
        self.assertIn('there is no action execution',
                      self.seen['variants']['missing']['problem'])

    def test_malformed_calls_are_refused_before_the_database(self):
        self.assertEqual({
            'no_node': 'a completion lacks stack_id',
            'not_a_uuid': "action_execution_id must be a Mistral id, not "
                          "'x'",
            'bad_resource': "resource_id must be a non-negative 64-bit "
                            "integer, not '4'"}, self.seen['bad_calls'])
        self.assertEqual('1.1', self.seen['version'])


class NotOfferedTest(base.TestCase):
    """What the action advertises outside the checked Mistral."""

    def setUp(self):
        super().setUp()
        completion_server._advertised.clear()
        self.addCleanup(completion_server._advertised.clear)

    def test_nothing_outside_a_mistral_process(self):
        self.useFixture(fixtures.MockPatchObject(
            patches_base, 'in_mistral_process', return_value=False))
        self.assertIsNone(completion_server.advertised_topic())
        self.assertIsNone(completion_server.start())

    def test_another_mistral_release_keeps_the_api_with_a_warning(self):
        self.useFixture(fixtures.MockPatchObject(
            patches_base, 'in_mistral_process', return_value=True))
        self.useFixture(fixtures.MockPatchObject(
            direct_completions, 'mistral_checks_identities',
            return_value=False))
        self.useFixture(fixtures.MockPatchObject(
            patches_base, 'release_problem',
            return_value='Mistral 24.0.0 is not a release this patch was '
                         'read for'))
        logged = self.useFixture(fixtures.FakeLogger())
        self.assertIsNone(completion_server.advertised_topic())
        self.assertIn('direct_completions is not applied: Mistral 24.0.0',
                      logged.output)
