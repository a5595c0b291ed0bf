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

import testtools

from heat_mistral_engine import protocol

GOOD = dict(action_execution_id='ae', stack_id='s', traversal='t',
            resource_id=4, is_update=True, data={'update:3': 'sealed-receipt'},
            token='method:sealed')


class NodeRequestTest(testtools.TestCase):

    def test_round_trip(self):
        message = protocol.node_request(**GOOD)
        self.assertEqual(protocol.VERSION, message['version'])
        parsed = protocol.NodeRequest.from_dict(message)
        self.assertEqual(4, parsed.resource_id)
        self.assertEqual(message, parsed.to_dict())

    def test_missing_field_is_named(self):
        message = protocol.node_request(**GOOD)
        del message['traversal']
        exc = self.assertRaises(protocol.BadNodeRequest,
                                protocol.NodeRequest.from_dict, message)
        self.assertIn('traversal', str(exc))

    def test_bad_values_are_refused(self):
        bad = [('resource_id', '4'), ('resource_id', True),
               ('resource_id', -1), ('resource_id', 2 ** 63),
               ('is_update', 'yes'), ('data', ['x']), ('data', {1: {}}),
               ('data', {'1': {'id': 1}}), ('data', {'1': ''}),
               ('stack_id', ''),
               ('stack_id', 7), ('token', None), ('traversal', 'x' * 300)]
        for field, value in bad:
            message = dict(GOOD, **{field: value})
            exc = self.assertRaises(protocol.BadNodeRequest,
                                    protocol.node_request, **message)
            self.assertIn(field, str(exc))

    def test_null_data_means_none(self):
        message = protocol.node_request(**dict(GOOD, data=None))
        self.assertEqual({}, message['data'])

    def test_wrong_version_and_type(self):
        message = protocol.node_request(**GOOD)
        message['version'] = 99
        self.assertRaises(protocol.BadNodeRequest,
                          protocol.NodeRequest.from_dict, message)
        self.assertRaises(protocol.BadNodeRequest,
                          protocol.NodeRequest.from_dict, 'garbage')

    def test_completion_topic_is_optional(self):
        # A request of a Mistral without direct completions has none, and
        # its message is the one an engine without them knows.
        message = protocol.node_request(**GOOD)
        self.assertNotIn('completion_topic', message)
        self.assertIsNone(
            protocol.NodeRequest.from_dict(message).completion_topic)
        message = protocol.node_request(**dict(GOOD, completion_topic=None))
        self.assertNotIn('completion_topic', message)
        message = protocol.node_request(
            **dict(GOOD, completion_topic='heat-mistral-engine-completions'))
        parsed = protocol.NodeRequest.from_dict(message)
        self.assertEqual('heat-mistral-engine-completions',
                         parsed.completion_topic)
        self.assertEqual(message, parsed.to_dict())

    def test_bad_completion_topic_is_refused(self):
        for value in ('', 7, 'x' * 300, 'a b', 'topic#', 'top*',
                      '\u00e9t\u00e9', 'x\n'):
            exc = self.assertRaises(
                protocol.BadNodeRequest, protocol.node_request,
                **dict(GOOD, completion_topic=value))
            self.assertIn('completion_topic', str(exc))


class CompletionTest(testtools.TestCase):

    def test_one_topic_from_rpc_topic(self):
        self.assertEqual('heat-mistral-engine-completions',
                         protocol.completion_topic('heat-mistral-engine'))

    def test_the_node_is_checked_as_a_request_is(self):
        node = dict(stack_id='s', traversal='t', resource_id=4,
                    is_update=False)
        self.assertEqual(node, protocol.completion_node(**node))
        for field, value in (('stack_id', None), ('traversal', ''),
                             ('resource_id', '4'), ('resource_id', True),
                             ('is_update', 1), ('stack_id', 'x' * 300)):
            exc = self.assertRaises(protocol.BadNodeRequest,
                                    protocol.completion_node,
                                    **dict(node, **{field: value}))
            self.assertIn(field, str(exc))
