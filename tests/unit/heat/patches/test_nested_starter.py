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

"""The node that starts a nested stack's action records itself on its row.

The record is written and read on Heat's own (sqlite) resource_data table;
the wrapping is checked on Heat's StackResource and on a stand-in class.
"""

import json
import threading
from unittest import mock

from heat.engine.resources import stack_resource

from heat_mistral_engine.heat.patches import nested_starter
from tests.unit import base

AX = 'a0000000-0000-4000-8000-00000000000a'


class RecordTest(base.HeatDbTestCase):

    template = {'heat_template_version': '2021-04-16',
                'resources': {'member': {'type': 'OS::Heat::None'}}}

    def setUp(self):
        super().setUp()
        self.rsrc = self.stack['member']
        self.rsrc.store()

    def read(self):
        return nested_starter.recorded(self.ctx, self.rsrc.id)

    def test_a_node_records_itself_and_is_read_back(self):
        with nested_starter.acting(self.stack.id, 't1', AX):
            nested_starter.record(self.rsrc)
        self.assertEqual({'stack_id': self.stack.id, 'traversal': 't1',
                          'action_execution': AX}, self.read())

    def test_the_last_node_to_start_a_nested_action_is_recorded(self):
        # The first update's node, then the second update's (after it
        # pre-empted the first): a nested traversal finds the one that
        # started it.
        for traversal, ax in (('t1', 'first'), ('t2', AX)):
            with nested_starter.acting(self.stack.id, traversal, ax):
                nested_starter.record(self.rsrc)
        self.assertEqual(AX, self.read()['action_execution'])

    def test_nothing_is_recorded_outside_a_node(self):
        nested_starter.record(self.rsrc)
        self.assertIsNone(self.read())

    def test_a_node_of_another_stack_records_nothing(self):
        with nested_starter.acting('another-stack', 't1', AX):
            nested_starter.record(self.rsrc)
        self.assertIsNone(self.read())

    def test_a_failed_record_never_fails_the_resource(self):
        with nested_starter.acting(self.stack.id, 't1', AX), \
                mock.patch.object(self.rsrc, 'data_set',
                                  side_effect=RuntimeError('db')):
            nested_starter.record(self.rsrc)
        self.assertIsNone(self.read())

    def test_a_malformed_record_reads_as_none(self):
        for value in ('not json', '[1]', json.dumps({'stack_id': 1}),
                      json.dumps({'stack_id': 's', 'traversal': 't'})):
            self.rsrc.data_set(nested_starter.DATA_KEY, value)
            self.assertIsNone(self.read(), value)


class ActingTest(base.TestCase):

    def test_acting_nests_and_is_per_thread(self):
        seen = []
        with nested_starter.acting('s', 'outer', 'a1'):
            with nested_starter.acting('s', 'inner', 'a2'):
                seen.append(nested_starter.current()['traversal'])
                other = threading.Thread(
                    target=lambda: seen.append(nested_starter.current()))
                other.start()
                other.join()
            seen.append(nested_starter.current()['traversal'])
        seen.append(nested_starter.current())
        self.assertEqual(['inner', None, 'outer', None], seen)


class StandIn(object):
    """StackResource's three methods, with Heat's parameters."""

    def __init__(self, calls):
        self.calls = calls

    def create_with_template(self, child_template, user_params=None,
                             timeout_mins=None, adopt_data=None):
        self.calls.append(('create', child_template))
        return 'created'

    def update_with_template(self, child_template, user_params=None,
                             timeout_mins=None):
        self.calls.append(('update', child_template))
        return 'updated'

    def delete_nested(self):
        self.calls.append(('delete', None))
        return 'deleted'


class InstallTest(base.TestCase):

    def test_heats_stack_resource_is_what_is_wrapped(self):
        self.assertEqual([], nested_starter.incompatibilities(
            stack_resource.StackResource))

    def test_each_method_records_before_heats_call(self):
        calls = []

        class Resource(StandIn):
            pass
        self.assertTrue(nested_starter.install(Resource))
        self.assertTrue(nested_starter.install(Resource))   # idempotent
        rsrc = Resource(calls)
        with mock.patch.object(
                nested_starter, 'record',
                side_effect=lambda r: calls.append(('record', r))):
            self.assertEqual('created', rsrc.create_with_template('t'))
            self.assertEqual('updated', rsrc.update_with_template(
                't', timeout_mins=3))
            self.assertEqual('deleted', rsrc.delete_nested())
        self.assertEqual([('record', rsrc), ('create', 't'),
                          ('record', rsrc), ('update', 't'),
                          ('record', rsrc), ('delete', None)], calls)

    def test_another_signature_leaves_heat_alone(self):
        class Resource(StandIn):
            def delete_nested(self, force):
                pass
        original = Resource.create_with_template
        self.assertFalse(nested_starter.install(Resource))
        self.assertIs(original, Resource.create_with_template)
        self.assertEqual(['StackResource.delete_nested'], [
            problem.split('(')[0] for problem in
            nested_starter.incompatibilities(Resource)])
