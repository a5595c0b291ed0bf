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

"""Garbage into the node protocol and the RPC endpoint: refused cleanly.

Nothing may raise out of the endpoint (an exception would only be logged
by oslo.messaging, but it would also leave the Mistral task RUNNING), and
a refused request must touch nothing in Heat: no stack load, no claim, no
resource action, no completion of the stack. Nor anything in Mistral: a
request without a verified token may name any action execution, so its
refusal is only logged.
"""

import random
from unittest import mock

import fixtures
from heat.common import context as heat_context

from heat_mistral_engine.heat.node import admission
from heat_mistral_engine.heat.node import runner as node_runner
from heat_mistral_engine.heat.node import server as node_server
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine import protocol
from tests.unit import base

FIELDS = ('action_execution_id', 'stack_id', 'traversal', 'resource_id',
          'is_update', 'data', 'token', 'version')


AX = '0175f1b3-9033-4e59-a83d-263a6f839fc7'


def good():
    return protocol.node_request(
        action_execution_id=AX, stack_id='stack-1', traversal='trav-1',
        resource_id=4, is_update=True, data={'update:3': 'r'}, token='t')


def garbage_value(rnd, depth=0):
    kind = rnd.randrange(11 if depth < 3 else 8)
    if kind == 0:
        return None
    if kind == 1:
        return rnd.choice([True, False])
    if kind == 2:
        return rnd.randint(-2 ** 70, 2 ** 70)
    if kind == 3:
        return rnd.random() * 1e300
    if kind == 4:
        return ''.join(chr(rnd.randrange(0x110000) or 1)
                       for _ in range(rnd.randrange(20)))
    if kind == 5:
        return 'x' * rnd.choice([0, 1, 255, 256, 10 ** 6])
    if kind == 6:
        return rnd.choice(['update:3', 'cleanup:1', AX, 'tuple:(1,)'])
    if kind == 7:
        return b'\x00\xff bytes'
    if kind == 8:
        return [garbage_value(rnd, depth + 1)
                for _ in range(rnd.randrange(4))]
    if kind == 9:
        return {garbage_key(rnd): garbage_value(rnd, depth + 1)
                for _ in range(rnd.randrange(4))}
    return {'update:3': garbage_value(rnd, depth + 1)}


def garbage_key(rnd):
    return rnd.choice(['update:3', 'x', '', 'tuple:(1, 2)', 7, None, 1.5])


def garbage_message(rnd):
    """A message near a valid one: fields dropped, retyped or added."""
    choice = rnd.randrange(4)
    if choice == 0:
        return garbage_value(rnd)
    message = good()
    for field in rnd.sample(FIELDS, rnd.randrange(1, 4)):
        action = rnd.randrange(3)
        if action == 0:
            message.pop(field, None)
        else:
            message[field] = garbage_value(rnd)
    if choice == 3:
        message[garbage_key(rnd)] = garbage_value(rnd)
    return message


class ProtocolFuzzTest(base.TestCase):

    def test_from_dict_refuses_or_accepts_never_crashes(self):
        rnd = random.Random(20261125)
        accepted = refused = 0
        for _ in range(3000):
            message = garbage_message(rnd)
            try:
                parsed = protocol.NodeRequest.from_dict(message)
            except protocol.BadNodeRequest as exc:
                refused += 1
                # Messages name the field, and never echo megabytes.
                self.assertLess(len(str(exc)), 300)
                continue
            accepted += 1
            # What parses is exactly a valid request.
            self.assertIsInstance(parsed.resource_id, int)
            self.assertIsInstance(parsed.is_update, bool)
            for key, value in parsed.data.items():
                self.assertIsInstance(key, str)
                self.assertIsInstance(value, str)
            self.assertEqual(parsed, protocol.NodeRequest.from_dict(
                parsed.to_dict()))
        self.assertGreater(refused, 2000)
        self.assertGreater(accepted, 10)


class EndpointFuzzTest(base.TestCase):
    """The endpoint with a real runner whose every way into Heat is a trap."""

    def setUp(self):
        super().setUp()
        self.mistral = mock.Mock()
        self.runner = node_runner.NodeRunner('engine-1', mock.Mock(),
                                             self.mistral)
        self.endpoint = node_server.NodeEndpoint(admission.Admission(
            self.runner, background=False))
        self.touched = []
        for target, name in (
                (node_runner.heat_stack.Stack, 'load'),
                (node_runner.guard.stack_object.Stack, 'get_by_id'),
                (node_runner.guard.stack_row, 'traversal_state'),
                (node_runner.claims.sync_point_object.SyncPoint,
                 'create'),
                (node_runner.check_resource, 'load_resource'),
                (node_runner.check_resource, 'check_resource_update'),
                (node_runner.completion, 'root_done')):
            patcher = mock.patch.object(
                target, name, side_effect=self._trap(name))
            patcher.start()
            self.addCleanup(patcher.stop)

    def _trap(self, name):
        def trap(*args, **kwargs):
            self.touched.append(name)
            raise AssertionError('%s reached for a garbage request' % name)
        return trap

    def test_garbage_messages_are_refused_without_touching_heat(self):
        rnd = random.Random(4711)
        for _ in range(1500):
            message = garbage_message(rnd)
            self.endpoint.run_node({}, message)   # must not raise
        self.assertEqual([], self.touched)
        # None has a token that verifies: none is reported to Mistral.
        self.mistral.complete_action.assert_not_called()

    def test_wrong_or_foreign_token_is_refused_before_heat(self):
        cnxt = heat_context.RequestContext(user_id='u', project_id='p')
        tokens = ['garbage', 'cryptography_decrypt_v1:AAAA',
                  traversal_token.seal(cnxt, 'stack-2', 'trav-1'),
                  traversal_token.seal(cnxt, 'stack-1', 'trav-2')]
        logged = self.useFixture(fixtures.FakeLogger())
        for token in tokens:
            message = dict(good(), token=token)
            self.endpoint.run_node({}, message)
        # The action execution such a request names may be anyone's.
        self.mistral.complete_action.assert_not_called()
        self.assertEqual(len(tokens), logged.output.count(
            'Refused node 4 (create/update) of stack stack-1 [action '
            'execution %s, not told]: the traversal token' % AX))
        self.assertEqual([], self.touched)

    def test_no_request_at_all(self):
        self.endpoint.run_node({})
        self.endpoint.run_node({}, request=None)
        self.assertEqual(0, self.mistral.complete_action.call_count)

    def test_a_malformed_request_is_refused_in_the_log_only(self):
        logged = self.useFixture(fixtures.FakeLogger())
        for ax in ('x' * 100000, 'not-a-uuid', 7, AX):
            self.endpoint.run_node({}, {'action_execution_id': ax})
        # Even one with a valid token: it did not parse.
        cnxt = heat_context.RequestContext(user_id='u', project_id='p')
        self.endpoint.run_node({}, dict(
            good(), resource_id='x',
            token=traversal_token.seal(cnxt, 'stack-1', 'trav-1')))
        self.mistral.complete_action.assert_not_called()
        self.assertIn('Refused a malformed node request [action execution '
                      '%r, not told]' % AX, logged.output)
        # The log line is cut, whatever the message holds.
        self.assertNotIn('x' * 100, logged.output)
