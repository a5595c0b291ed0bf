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

"""OS::Heat::Stack marks the child it creates in this Heat, checked later.

The handlers run are Heat's own, on a real RemoteStack resource of a
parsed template; only the heat client (heat-api) and the database are
faked.
"""

import types
from unittest import mock

import fixtures
from heat.common import exception as heat_exception
from heat.engine.resources.openstack.heat import remote_stack
import yaml

from heat_mistral_engine.heat.patches import remote_stack_link
from heat_mistral_engine.heat.traversal import template_graph
from tests.unit import base

PARENT = 'p0000000-0000-4000-8000-000000000000'
CHILD = 'c0000000-0000-4000-8000-000000000000'
ROW = 7
TAG = 'mistral_parent_resource=%s:%d' % (PARENT, ROW)
CHILD_TEMPLATE = '''
heat_template_version: 2021-04-16
resources:
  leaf: {type: OS::Heat::None}
'''


def parent_template(context=None):
    child = {'type': 'OS::Heat::Stack',
             'properties': {'template': CHILD_TEMPLATE,
                            'parameters': {'p': 'v'}}}
    if context is not None:
        child['properties']['context'] = context
    return yaml.safe_dump({'heat_template_version': '2021-04-16',
                           'resources': {'child': child}})


def restore_remote_stack(test):
    """Put Heat's RemoteStack handlers back after ``test``."""
    for name, _params in remote_stack_link.WRAPPED:
        test.useFixture(fixtures.MonkeyPatch(
            'heat.engine.resources.openstack.heat.remote_stack.'
            'RemoteStack.%s' % name,
            getattr(remote_stack.RemoteStack, name)))


class MarkTest(base.TestCase):

    def test_round_trip_within_heats_tag_limit(self):
        self.assertEqual((PARENT, ROW),
                         remote_stack_link.parse(['x', TAG, 'y=1']))
        longest = remote_stack_link.mark(PARENT, 2 ** 63 - 1)
        self.assertLessEqual(len(longest), 80)
        self.assertEqual((PARENT, 2 ** 63 - 1),
                         remote_stack_link.parse([longest]))

    def test_no_one_or_malformed_tag_is_no_mark(self):
        for tags in (None, [], ['mistral_parent_resource'],
                     [TAG, remote_stack_link.mark(PARENT, 8)],
                     ['mistral_parent_resource=%s' % PARENT],
                     ['mistral_parent_resource=%s:x' % PARENT],
                     ['mistral_parent_resource=%s:-1' % PARENT],
                     ['mistral_parent_resource=:7'],
                     ['mistral_parent_resource=%s:\u0667' % PARENT]):
            self.assertIsNone(remote_stack_link.parse(tags), tags)

    def test_tags_for_heat_api(self):
        self.assertEqual({'a': 1, 'tags': TAG},
                         remote_stack_link.with_tags({'a': 1}, TAG))
        self.assertEqual(
            'x,y,' + TAG, remote_stack_link.with_tags(
                {'tags': 'x,y'}, TAG)['tags'])
        self.assertEqual(
            'x,' + TAG, remote_stack_link.with_tags(
                {'tags': ['x', remote_stack_link.mark(PARENT, 9)]},
                TAG)['tags'])


class FakeStacks(object):
    """heatclient's ``stacks`` manager as heat-api would answer it."""

    def __init__(self):
        self.calls = []

    def create(self, **kwargs):
        self.calls.append(('create', kwargs))
        return {'stack': {'id': CHILD}}

    def update(self, stack_id, **kwargs):
        self.calls.append(('update', dict(kwargs, stack_id=stack_id)))

    def get(self, stack_id):
        self.calls.append(('get', stack_id))


class HandlerTest(base.TestCase):

    def setUp(self):
        super().setUp()
        restore_remote_stack(self)
        self.assertTrue(remote_stack_link.install())
        self.stacks = FakeStacks()
        self.data = {}
        self.useFixture(fixtures.MonkeyPatch(
            'heat.engine.resources.openstack.heat.remote_stack.'
            'RemoteStack.heat',
            lambda rsrc, cacert_path: types.SimpleNamespace(
                stacks=self.stacks)))

    def resource(self, context=None, region='RegionOne'):
        stack = template_graph.load_stack(parent_template(context),
                                          name='parent')
        stack.context.region_name = region
        rsrc = stack['child']
        # Ids as heat-engine's node has them (after the resources load:
        # a stack with an id loads them from the database).
        stack.id = PARENT
        rsrc.id = ROW
        self.stack = stack   # the resource holds only a weak reference
        rsrc.data_set = lambda key, value: self.data.__setitem__(key, value)
        rsrc.resource_id_set = lambda value: setattr(rsrc, 'resource_id',
                                                     value)
        return rsrc

    def create(self, rsrc):
        rsrc.handle_create()
        (call, kwargs), = self.stacks.calls
        self.assertEqual('create', call)
        self.assertEqual(CHILD, rsrc.resource_id)
        # The factory the handler used was this call's only.
        self.assertNotIn('heat', vars(rsrc))
        return kwargs

    def test_a_child_in_this_heat_is_tagged_and_the_row_marked(self):
        rsrc = self.resource()
        kwargs = self.create(rsrc)
        self.assertEqual(TAG, kwargs['tags'])
        self.assertEqual({remote_stack_link.DATA_KEY: TAG}, self.data)
        # Heat's own arguments are untouched.
        self.assertEqual({'p': 'v'}, kwargs['parameters'])
        self.assertEqual(['leaf'], list(kwargs['template']['resources']))
        self.assertTrue(kwargs['disable_rollback'])

    def test_this_region_named_explicitly_is_this_heat(self):
        self.assertEqual(TAG, self.create(self.resource(
            context={'region_name': 'RegionOne'}))['tags'])
        self.conf.config(region_name_for_services='Here')
        self.stacks.calls = []
        self.assertEqual(TAG, self.create(self.resource(
            context={'region_name': 'Here'}, region=None))['tags'])

    def test_a_child_elsewhere_is_left_alone(self):
        for context in ({'region_name': 'RegionTwo'},
                        {'credential_secret_id': 'secret'}):
            self.stacks.calls = []
            kwargs = self.create(self.resource(context=context))
            self.assertNotIn('tags', kwargs)
        self.assertEqual({}, self.data)

    def test_marking_never_fails_the_resource(self):
        rsrc = self.resource()

        def broken(key, value):
            raise RuntimeError('database gone')
        rsrc.data_set = broken
        logger = self.useFixture(fixtures.FakeLogger())
        self.assertNotIn('tags', self.create(rsrc))
        self.assertIn('database gone', logger.output)

    def test_a_failing_create_restores_the_factory(self):
        rsrc = self.resource()
        self.stacks.create = mock.Mock(side_effect=RuntimeError('409'))
        self.assertRaises(RuntimeError, rsrc.handle_create)
        self.assertNotIn('heat', vars(rsrc))

    def test_update_carries_the_tag_again(self):
        # heat-api's PUT update replaces a stack's tags: without it the
        # child's delete would find no mark.
        rsrc = self.resource()
        rsrc.resource_id = CHILD
        rsrc.handle_update(rsrc.t, {}, {})
        (call, kwargs), = self.stacks.calls
        self.assertEqual('update', call)
        self.assertEqual(CHILD, kwargs['stack_id'])
        self.assertEqual(TAG, kwargs['tags'])
        self.assertEqual({remote_stack_link.DATA_KEY: TAG}, self.data)

    def test_update_acts_where_the_new_properties_say(self):
        # credential_secret_id may change in place: Heat's handler then
        # updates the child in the other cloud, which gets no mark.
        rsrc = self.resource()
        rsrc.resource_id = CHILD
        elsewhere = rsrc.t.freeze(properties=dict(
            rsrc.t.properties(rsrc.properties_schema, rsrc.context).data,
            context={'credential_secret_id': 'secret'}))
        rsrc.handle_update(elsewhere, {}, {})
        (call, kwargs), = self.stacks.calls
        self.assertNotIn('tags', kwargs)
        self.assertEqual({}, self.data)


class InstallTest(base.TestCase):

    def setUp(self):
        super().setUp()
        restore_remote_stack(self)

    def test_heats_remote_stack_is_the_one_wrapped(self):
        self.assertEqual([], remote_stack_link.incompatibilities())

    def test_install_is_idempotent_and_keeps_the_original(self):
        native = remote_stack.RemoteStack.handle_create
        self.assertTrue(remote_stack_link.install())
        wrapped = remote_stack.RemoteStack.handle_create
        self.assertIsNot(native, wrapped)
        self.assertIs(native, wrapped._hme_original)
        self.assertTrue(remote_stack_link.install())
        self.assertIs(wrapped, remote_stack.RemoteStack.handle_create)
        self.assertEqual([], remote_stack_link.incompatibilities())

    def test_another_heat_is_left_alone_with_a_warning(self):
        class Changed(object):
            CONTEXT = REGION_NAME = 'x'

            def handle_create(self, extra):
                pass

            def handle_update(self, json_snippet, tmpl_diff, prop_diff):
                pass

            def heat(self, cacert_path):
                pass
        native = Changed.handle_create
        logger = self.useFixture(fixtures.FakeLogger())
        self.assertFalse(remote_stack_link.install(Changed))
        self.assertIs(native, Changed.handle_create)
        self.assertIn("RemoteStack.handle_create('self', 'extra')",
                      logger.output)
        self.assertIn('RemoteStack.CREDENTIAL_SECRET_ID is missing',
                      logger.output)


class MarkedParentTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.row = types.SimpleNamespace(id=ROW, stack_id=PARENT,
                                         name='child',
                                         physical_resource_id=None)
        self.parent = types.SimpleNamespace(id=PARENT, tenant='project',
                                            current_traversal='t')
        self.recorded = types.SimpleNamespace(value=TAG)
        self.calls = []

        def get_obj(cnxt, rid, fields=None):
            self.calls.append(('row', rid))
            if self.row is None or rid != ROW:
                raise heat_exception.NotFound('no row')
            return self.row

        def get_by_key(cnxt, rid, key):
            if (self.recorded is None or rid != ROW
                    or key != remote_stack_link.DATA_KEY):
                raise heat_exception.NotFound('No resource data found')
            return self.recorded

        for target, name, func in (
                (remote_stack_link.resource_objects.Resource, 'get_obj',
                 get_obj),
                (remote_stack_link.resource_data_objects.ResourceData,
                 'get_by_key', get_by_key),
                (remote_stack_link.stack_objects.Stack, 'get_by_id',
                 lambda cnxt, sid: self.parent if sid == PARENT else None)):
            patcher = mock.patch.object(target, name, side_effect=func)
            patcher.start()
            self.addCleanup(patcher.stop)

    def find(self, tags=(TAG,), tenant='project'):
        child = types.SimpleNamespace(id=CHILD, tags=list(tags),
                                      tenant_id=tenant)
        return remote_stack_link.marked_parent(mock.sentinel.context, child)

    def test_the_marking_resource_of_the_same_project(self):
        self.assertEqual((self.parent, self.row), self.find())

    def test_an_untagged_stack_costs_no_query(self):
        self.assertIsNone(self.find(tags=['other']))
        self.assertEqual([], self.calls)

    def test_another_projects_stack_is_refused(self):
        logger = self.useFixture(fixtures.FakeLogger())
        self.assertIsNone(self.find(tenant='intruder'))
        self.assertIn('which no OS::Heat::Stack of its project made',
                      logger.output)

    def test_a_row_the_module_did_not_mark_is_refused(self):
        # Any other resource (a ResourceGroup, a TestResource), or an
        # OS::Heat::Stack whose child went to another region.
        self.recorded = None
        self.assertIsNone(self.find())

    def test_a_mark_for_another_row_is_refused(self):
        self.recorded = types.SimpleNamespace(
            value=remote_stack_link.mark(PARENT, 8))
        self.assertIsNone(self.find())

    def test_a_row_of_another_stack_is_refused(self):
        other = 'o0000000-0000-4000-8000-000000000000'
        self.assertIsNone(self.find(tags=[remote_stack_link.mark(other,
                                                                 ROW)]))
        self.row = None
        self.assertIsNone(self.find())

    def test_a_parent_out_of_sight_is_refused(self):
        self.parent = None
        self.assertIsNone(self.find())
