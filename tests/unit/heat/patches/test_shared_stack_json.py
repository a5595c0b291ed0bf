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

"""shared_stack_json: nodes read Heat's stack rows, sharing decoded JSON.

On Heat's own test database (sqlite), with Heat's models and session.
"""

import json

import fixtures
from heat.engine import environment
from heat.engine import stack as heat_stack
from heat.engine import template as heat_template
from heat.objects import raw_template as raw_template_object
from heat.objects import stack as stack_object

from heat_mistral_engine.heat.cache import frozen_json
from heat_mistral_engine.heat.patches import lean_defn
from heat_mistral_engine.heat.patches import shared_stack_json
from heat_mistral_engine.heat.patches import stack_row
from tests.unit import base

TEMPLATE = {'heat_template_version': '2021-04-16', 'resources': {
    'a': {'type': 'OS::Heat::None'},
    'b': {'type': 'OS::Heat::None', 'properties': {
        'x': {'get_attr': ['a', 'y']}}}}}


class SharedStackJsonTest(base.HeatDbTestCase):

    stack_name = 'shared-json'
    template = TEMPLATE
    stack_kwargs = {'current_deps': {'edges': [[[1, True], [2, True]],
                                               [[2, True], None]]}}

    def setUp(self):
        super().setUp()
        self.assertTrue(shared_stack_json.install(self.conf.conf))
        self.addCleanup(shared_stack_json.uninstall)

    def get(self, cnxt=None, **kwargs):
        return stack_object.Stack.get_by_id(cnxt or self.ctx, self.stack.id,
                                            **kwargs)

    def in_node(self, cnxt=None, **kwargs):
        with lean_defn.node_scope():
            return self.get(cnxt, **kwargs)

    def test_a_node_reads_what_heat_reads(self):
        heat_s = self.get()
        shared = self.in_node()
        for field in heat_s.fields:
            if field != 'raw_template_obj':
                self.assertEqual(heat_s[field], shared[field], field)
        for field in heat_s.raw_template.fields:
            self.assertEqual(heat_s.raw_template[field],
                             shared.raw_template[field], field)
        self.assertEqual(TEMPLATE, shared.raw_template.template)

    def test_nodes_share_one_frozen_value_per_text(self):
        first, second = self.in_node(), self.in_node()
        self.assertIs(first.current_deps, second.current_deps)
        resources_1 = first.raw_template.template['resources']
        self.assertIs(resources_1, second.raw_template.template['resources'])
        self.assertIsInstance(resources_1, frozen_json.FrozenDict)
        self.assertRaises(TypeError, resources_1.pop, 'a')
        self.assertRaises(TypeError, resources_1['b']['properties'].clear)
        # The top level is each node's own.
        self.assertIsNot(first.raw_template.template,
                         second.raw_template.template)
        first.raw_template.template['outputs'] = {}
        self.assertNotIn('outputs', second.raw_template.template)
        # Outside a node, Heat's own read: a value of its own, changeable.
        heat_s = self.get()
        self.assertIsNot(first.current_deps, heat_s.current_deps)
        self.assertIs(dict, type(heat_s.raw_template.template['resources']))

    def test_parameter_defaults_stay_with_their_stack(self):
        """Stacks made from one template text share its decoded sections.

        Each node's parameters section is its own: each stack sees its own
        environment's defaults, and Heat's param_schemata(param_defaults),
        which writes them into the template, neither raises nor changes
        what other nodes read.
        """
        template = dict(TEMPLATE, parameters={
            'p': {'type': 'string', 'default': 'template'}})
        ids = {}
        for name, defaults in (('pa', {'p': 'A'}), ('pb', {'p': 'B'}),
                               ('pn', {})):
            env = environment.Environment({'parameter_defaults': defaults})
            stack = heat_stack.Stack(
                self.ctx, name, heat_template.Template(template, env=env),
                convergence=True)
            stack.store()
            ids[name] = stack.id
        with lean_defn.node_scope():
            for _round in range(2):
                seen = {name: heat_stack.Stack.load(
                    self.ctx, stack_id=stack_id).parameters['p']
                    for name, stack_id in ids.items()}
                self.assertEqual({'pa': 'A', 'pb': 'B', 'pn': 'template'},
                                 seen)
            loaded = heat_stack.Stack.load(self.ctx, stack_id=ids['pa'])
            schemata = loaded.t.param_schemata({'p': 'written'})
            self.assertEqual('written', schemata['p'].default)
            other = heat_stack.Stack.load(self.ctx, stack_id=ids['pn'])
            self.assertEqual('template', other.parameters['p'])
        self.assertEqual(
            'template',
            shared_stack_json.SHARED.decode(json.dumps(template))[
                'parameters']['p']['default'])

    def test_a_stack_loaded_in_a_node_is_heat_s_stack(self):
        with lean_defn.node_scope():
            loaded = heat_stack.Stack.load(self.ctx, stack_id=self.stack.id)
            self.assertEqual({'a', 'b'}, set(loaded.t[loaded.t.RESOURCES]))
            self.assertEqual(self.stack.current_deps, loaded.current_deps)
            self.assertEqual(
                set(self.stack.convergence_dependencies.graph()),
                set(loaded.convergence_dependencies.graph()))
            b_defn = loaded.defn.resource_definition('b')
            self.assertEqual({'a'}, b_defn.required_resource_names())

    def test_a_changed_row_is_read_again(self):
        before = self.in_node()
        changed = dict(TEMPLATE, description='changed')
        raw_template_object.RawTemplate.update_by_id(
            self.ctx, self.stack.t.id, {'template': changed})
        stack_object.Stack.update_by_id(
            self.ctx, self.stack.id, {'current_deps': {'edges': []}})
        after = self.in_node()
        self.assertEqual(changed, after.raw_template.template)
        self.assertEqual({'edges': []}, after.current_deps)
        self.assertNotEqual(before.current_deps, after.current_deps)

    def test_visible_as_to_heat_s_stack_get(self):
        for cnxt, visible in self.visibility_cases():
            self.assertEqual(visible, self.get(cnxt) is not None)
            self.assertEqual(visible, self.in_node(cnxt) is not None)

    def test_deleted_stack_as_to_heat_s_stack_get(self):
        stack_object.Stack.delete(self.ctx, self.stack.id)
        self.assertIsNone(self.in_node())
        self.assertIsNone(self.get())
        self.assertIsNotNone(self.in_node(show_deleted=True))
        self.assertIsNone(stack_object.Stack.get_by_id(self.ctx, 'no-such'))
        with lean_defn.node_scope():
            self.assertIsNone(
                stack_object.Stack.get_by_id(self.ctx, 'no-such'))

    def test_other_arguments_take_heat_s_read(self):
        shared = self.in_node()
        lazy = self.in_node(eager_load=False)
        self.assertIsNot(shared.current_deps, lazy.current_deps)
        self.assertEqual(shared.current_deps, lazy.current_deps)

    def test_a_missing_column_takes_heat_s_read(self):
        self.useFixture(fixtures.MockPatchObject(
            stack_row, '_PROBLEM', 'heat.db.models has no Stack.status'))
        shared = self.in_node()
        self.assertIs(dict, type(shared.raw_template.template['resources']))
        self.assertEqual(TEMPLATE, shared.raw_template.template)

    def test_uninstall_and_option_off_leave_heat_alone(self):
        original = stack_object.Stack.__dict__['get_by_id']
        shared_stack_json.uninstall()
        self.assertIsNot(original, stack_object.Stack.__dict__['get_by_id'])
        self.assertIs(dict, type(
            self.in_node().raw_template.template['resources']))
        self.conf.config(share_decoded_stacks=False,
                         group='mistral_scheduler')
        self.assertFalse(shared_stack_json.install(self.conf.conf))
        self.assertFalse(shared_stack_json.installed())

    def test_an_unexpected_heat_is_left_alone(self):
        shared_stack_json.uninstall()
        self.useFixture(fixtures.MockPatchObject(
            shared_stack_json, 'EXPECTED_PARAMS', ('cls', 'stack_id')))
        self.assertFalse(shared_stack_json.install(self.conf.conf))
        self.assertFalse(shared_stack_json.installed())
