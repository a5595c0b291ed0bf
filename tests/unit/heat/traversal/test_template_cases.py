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

"""Edges and kinds for functions, conditions, environments, nested stacks.

Every test checks the compiled graph against Heat's own dependency graph for
the same stack (so the compiler neither loses nor invents an edge), then
checks the kinds of specific edges (so a wrong label fails).
"""

from heat.common import exception as heat_exception
from heat.engine.resources.openstack.heat import test_resource
from heat.engine.resources import template_resource

from heat_mistral_engine.heat.traversal import template_graph
from tests.unit import base
from tests.unit import template_cases


class CaseTestCase(base.TestCase):

    def assertSameAsHeat(self, stack):
        expected = template_cases.heat_edges(stack)
        self.assertEqual(expected, template_cases.compiled_edges(stack))
        self.assertEqual({(b, a) for a, b in expected},
                         template_cases.compiled_edges(stack, 'DELETE'))
        self.assertEqual(sorted(stack.resources), sorted(
            n.resource_name for n in template_graph.task_graph(stack)))

    def types(self, stack):
        return {n.resource_name: n.resource_type
                for n in template_graph.task_graph(stack)}


class FunctionsTest(CaseTestCase):

    def test_references_inside_functions_keep_their_kind(self):
        stack = template_cases.load('functions')
        self.assertSameAsHeat(stack)
        self.assertEqual({
            ('first', 'replaced'): ('get_attr',),          # str_replace
            ('second', 'joined'): ('get_resource',),       # list_join
            ('third', 'joined'): ('get_attr',),
            ('first', 'both'): ('get_attr', 'get_resource'),
            ('second', 'queried'): ('get_attr',),          # yaql
            ('first', 'chosen'): ('get_attr',),            # if, true branch
            ('third', 'repeated'): ('get_attr',),          # repeat
            ('second', 'repeated'): ('get_resource',),
            ('third', 'described'): ('get_attr', 'metadata'),  # map_merge
        }, template_cases.kinds(stack))

    def test_if_follows_the_branch_its_condition_picks(self):
        stack = template_cases.load('functions',
                                    parameters={'use_first': 'false'})
        self.assertSameAsHeat(stack)
        found = template_cases.kinds(stack)
        self.assertNotIn(('first', 'chosen'), found)
        self.assertEqual(('get_resource',), found[('second', 'chosen')])

    def test_get_file_reads_the_files_map_and_adds_no_edge(self):
        stack = template_cases.load('functions')
        self.assertEqual('Hello NAME\n',
                         stack['plain_file'].properties['value'])
        self.assertEqual([], [e for e in template_graph.edges(stack)
                              if e.target == 'plain_file'])


class ConditionsTest(CaseTestCase):

    def test_false_condition_drops_the_node_and_its_edges(self):
        stack = template_cases.load('conditions')
        self.assertSameAsHeat(stack)
        self.assertEqual({'sqlite', 'app'}, set(self.types(stack)))
        # depends_on: [database] names a disabled resource: no edge.
        self.assertEqual({('sqlite', 'app'): ('get_attr',)},
                         template_cases.kinds(stack))

    def test_true_condition_brings_the_node_and_its_edges(self):
        stack = template_cases.load('conditions',
                                    parameters={'env_type': 'prod'})
        self.assertSameAsHeat(stack)
        self.assertEqual({'database', 'app'}, set(self.types(stack)))
        self.assertEqual({('database', 'app'): ('depends_on', 'get_attr')},
                         template_cases.kinds(stack))

    def test_combined_conditions(self):
        stack = template_cases.load(
            'conditions', parameters={'env_type': 'prod', 'spread': 'true'})
        self.assertSameAsHeat(stack)
        self.assertEqual(('depends_on',),
                         template_cases.kinds(stack)[('app', 'spreader')])


class EnvironmentTest(CaseTestCase):

    def test_registry_and_parameter_defaults_are_applied(self):
        stack = template_cases.load('environment')
        self.assertSameAsHeat(stack)
        self.assertEqual({('base', 'special'): ('get_attr',),
                          ('base', 'words'): ('get_resource',)},
                         template_cases.kinds(stack))
        # A task shows the type the template names, as Heat's resource
        # list does; the environment decides the implementation.
        self.assertEqual({'base': 'Custom::Base',
                          'special': 'OS::Heat::None',
                          'words': 'OS::Heat::Value'}, self.types(stack))
        self.assertIsInstance(stack['base'], test_resource.TestResource)
        self.assertIsInstance(stack['special'], test_resource.TestResource)
        self.assertEqual('hello', stack.parameters['greeting'])

    def test_without_the_environment_the_type_is_unknown(self):
        with open(template_cases.TEMPLATES + '/environment.yaml') as f:
            stack = template_graph.load_stack(
                f.read(), parameters={'greeting': 'hi'})
        exc = self.assertRaises(heat_exception.StackValidationFailed,
                                template_graph.edges, stack)
        self.assertIn('(Custom::Base) could not be found', str(exc))


class NestedTest(CaseTestCase):

    def test_each_nested_stack_is_one_node(self):
        stack = template_cases.load('nested')
        self.assertSameAsHeat(stack)
        # Nothing from inside tier.yaml or inner.yaml becomes a task.
        self.assertEqual({'seed': 'OS::Heat::TestResource',
                          'tier': 'My::Tier',
                          'direct': 'tier.yaml',
                          'group': 'OS::Heat::ResourceGroup',
                          'inner': 'OS::Heat::Stack'}, self.types(stack))
        self.assertIsInstance(stack['tier'],
                              template_resource.TemplateResource)
        self.assertIsInstance(stack['direct'],
                              template_resource.TemplateResource)
        self.assertEqual({('seed', 'tier'): ('get_attr',),
                          ('seed', 'direct'): ('get_resource',),
                          ('tier', 'group'): ('get_attr',),
                          ('group', 'inner'): ('get_attr',)},
                         template_cases.kinds(stack))


class ImplicitTest(CaseTestCase):

    def test_edges_heat_adds_itself_are_implicit(self):
        stack = template_cases.load('implicit')
        self.assertSameAsHeat(stack)
        self.assertEqual({('net', 'subnet'): ('get_resource',),
                          ('net', 'port'): ('get_resource',),
                          ('subnet', 'port'): ('implicit',),
                          ('public_subnet', 'router'): ('implicit',)},
                         template_cases.kinds(stack))
